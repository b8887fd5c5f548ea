"""Stage durations and move-on within 12 months, in the staged floating support model: Stage 1
"Crisis Intervention 8-12 weeks"; Stage 2 "3 months to 2 years ... with the expectation that
service users move on within 12 months"; Stage 3 "Up to 2 years"."""

from __future__ import annotations

from services.outcomes.measures.base import GroupBy, ReportingData
from services.outcomes.measures.stages import (
    MOVE_ON_WITHIN_12_MONTHS,
    STAGE_1_DAYS,
    STAGE_2_DAYS,
    STAGE_3_DAYS,
    spells,
)
from tests.unit.outcomes.history_builder import case, data, query

PERIOD = ("2026-01-01", "2026-03-31", "2026-04-30")


def staged() -> ReportingData:
    return data(
        # 84 days in Stage 1 (ended before the period), then 48 in Stage 2 to closure.
        case(
            "st1", allocated="2025-10-01", stages=[("stage_2", "2025-12-24")], closed="2026-02-10"
        ),
        # 106 days in Stage 1 (over 12 weeks), 14 in Stage 2, still in Stage 3.
        case(
            "st2",
            allocated="2025-11-01",
            stages=[("stage_2", "2026-02-15"), ("stage_3", "2026-03-01")],
        ),
        # 55 days in Stage 1, then closed.
        case("st3", allocated="2026-01-05", closed="2026-03-01"),
        # Moved to Stage 2 the day it was allocated: no Stage 1 spell; 69 days in Stage 2.
        case(
            "st4", allocated="2026-01-10", stages=[("stage_2", "2026-01-10")], closed="2026-03-20"
        ),
    )


def test_stage_1_is_8_to_12_weeks() -> None:
    """Stage 1 spells ended in the quarter: 106 and 55 days; one over 12 weeks (84 days)."""
    [figure] = STAGE_1_DAYS.compute(staged(), query(*PERIOD))
    assert (figure.count, figure.value) == (2, 80.5)
    assert figure.extra == {"p90": 106.0, "target_days": 84, "over_target": 1}


def test_stage_2_and_3() -> None:
    [stage_2] = STAGE_2_DAYS.compute(staged(), query(*PERIOD))
    assert (stage_2.count, stage_2.value, stage_2.extra["p90"]) == (3, 48.0, 69.0)
    [stage_3] = STAGE_3_DAYS.compute(staged(), query(*PERIOD))
    assert (stage_3.count, stage_3.value) == (0, None)  # still in Stage 3: not finished


def test_stage_durations_by_month_the_spell_ended() -> None:
    figures = STAGE_1_DAYS.compute(staged(), query(*PERIOD, group_by=GroupBy.MONTH))
    assert [(f.group, f.count, f.value) for f in figures] == [
        ({"month": "2026-02"}, 1, 106.0),
        ({"month": "2026-03"}, 1, 55.0),
    ]


def test_a_change_back_to_the_same_stage_continues_the_spell() -> None:
    history = case(
        "same",
        allocated="2026-01-05",
        stages=[("stage_2", "2026-02-01"), ("stage_1", "2026-02-01"), ("stage_1", "2026-02-10")],
        closed="2026-03-01",
    )
    assert [(s.stage, s.days) for s in spells(history)] == [("stage_1", 55)]


def test_move_on_within_12_months() -> None:
    """Cases whose first 12 months ended in the quarter (allocated January-March 2025): mo1
    moved on and mo2 achieved its plan within 12 months; mo3 closed after 12 months and mo4 is
    still open; mo5 disengaged. mo6 died (not counted); mo7 was a reconnection."""
    cohort = data(
        case("mo1", allocated="2025-01-10", closed="2025-10-01", reason="moved_on"),
        case("mo2", allocated="2025-02-01", closed="2025-12-01", reason="plan_achieved"),
        case("mo3", allocated="2025-02-15", closed="2026-03-01", reason="moved_on"),
        case("mo4", allocated="2025-03-01"),
        case("mo5", allocated="2025-03-05", closed="2025-08-01", reason="disengaged"),
        case("mo6", allocated="2025-03-10", closed="2025-09-01", reason="deceased"),
        case(
            "mo7",
            allocated="2025-01-15",
            route="reconnection",
            closed="2025-05-01",
            reason="reconnected",
        ),
        case("mo8", allocated="2025-04-01", closed="2025-06-01", reason="moved_on"),
    )
    [figure] = MOVE_ON_WITHIN_12_MONTHS.compute(cohort, query(*PERIOD))
    assert (figure.numerator, figure.count, figure.value) == (2, 5, 40.0)
    assert figure.extra == {"still_open_at_12_months": 2, "closed_otherwise": 1}
    by_month = MOVE_ON_WITHIN_12_MONTHS.compute(cohort, query(*PERIOD, group_by=GroupBy.MONTH))
    assert [(f.group, f.numerator, f.count) for f in by_month] == [
        ({"month": "2026-01"}, 1, 1),
        ({"month": "2026-02"}, 1, 2),
        ({"month": "2026-03"}, 0, 2),
    ]
