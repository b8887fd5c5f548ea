"""The staged floating support model (staged-floating-support-model.txt): how long cases spend
in each stage, and whether people move on within 12 months (issue 18).

Stage 1 is "Crisis Intervention, 8-12 weeks"; Stage 2 runs "3 months to 2 years" "with the
expectation that service users move on within 12 months"; Stage 3 is "Up to 2 years".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.outcomes.histories import CaseHistory
from services.outcomes.measures.averages import median, p90, rate
from services.outcomes.measures.base import Figure, Measure, MeasureQuery, ReportingData, Unit
from services.outcomes.measures.dates import months_after, within
from services.outcomes.measures.grouping import figures, grouped, grouped_cases
from shared.codes import ClosureReason, Route, Stage

# The longest each stage should last, in days: 12 weeks, then 2 years.
TARGET_DAYS = {Stage.STAGE_1: 84, Stage.STAGE_2: 730, Stage.STAGE_3: 730}
MOVE_ON_REASONS = frozenset({ClosureReason.MOVED_ON, ClosureReason.PLAN_ACHIEVED})


@dataclass(frozen=True)
class StageSpell:
    case: CaseHistory
    stage: str
    started_on: date
    ended_on: date

    @property
    def days(self) -> int:
        return (self.ended_on - self.started_on).days


def spells(case: CaseHistory) -> list[StageSpell]:
    """The case's finished time in each stage: from the day it entered the stage to the day it
    entered the next one or closed. A stage changed again the same day it began leaves no
    spell; a change to the stage the case is already in continues the spell."""
    starts: list[tuple[str, date]] = []
    for period in sorted(case.stages, key=lambda p: p.started_on):
        if starts and starts[-1][1] == period.started_on:
            starts.pop()  # superseded the same day
        if starts and starts[-1][0] == period.stage:
            continue
        starts.append((period.stage, period.started_on))
    if not starts:
        return []  # never in a stage (a reconnection case)
    ends = [started for _, started in starts[1:]] + [case.closed_on]
    return [
        StageSpell(case, stage, started, ended)
        for (stage, started), ended in zip(starts, ends, strict=True)
        if ended is not None
    ]


def _stage_days(stage: Stage) -> Measure:
    target = TARGET_DAYS[stage]

    def compute(data: ReportingData, query: MeasureQuery) -> list[Figure]:
        last = min(query.end, query.as_of)
        ended = [
            spell
            for case in data.cases
            for spell in spells(case)
            if spell.stage == stage and within(spell.ended_on, query.start, last)
        ]

        def make(group: dict[str, str], found: list[StageSpell]) -> Figure:
            days = [float(spell.days) for spell in found]
            extra: dict[str, float | int | str | None] = {
                "p90": p90(days),
                "target_days": target,
                "over_target": sum(1 for d in days if d > target),
            }
            return Figure(group, median(days), len(days), extra=extra)

        return figures(grouped(ended, query, lambda s: s.case, lambda s: s.ended_on), make)

    number = stage.value.removeprefix("stage_")
    return Measure(
        key=f"{stage.value}_days",
        title=f"Days in Stage {number}",
        definition=(
            f"Median calendar days a case spent in Stage {number}, from the day it entered the "
            f"stage to the day it moved to another stage or closed, for spells that ended in the "
            f"period (a case that came back to the stage has a spell for each time). The 90th "
            f"percentile, and how many spells were longer than {target} days (the model's "
            f"longest for the stage), beside it. By month: the month the spell ended."
        ),
        unit=Unit.DAYS,
        compute=compute,
    )


STAGE_1_DAYS = _stage_days(Stage.STAGE_1)
STAGE_2_DAYS = _stage_days(Stage.STAGE_2)
STAGE_3_DAYS = _stage_days(Stage.STAGE_3)


def _move_on(data: ReportingData, query: MeasureQuery) -> list[Figure]:
    last = min(query.end, query.as_of)

    def year_on(case: CaseHistory) -> date | None:
        return None if case.allocated_at is None else months_after(case.allocated_at.date(), 12)

    cohort = [
        case
        for case in data.cases
        if case.route == Route.SUPPORT
        and within(year_on(case), query.start, last)
        and case.closure_reason != ClosureReason.DECEASED
    ]

    def make(group: dict[str, str], cases: list[CaseHistory]) -> Figure:
        moved = still_open = 0
        for case in cases:
            closed, until = case.closed_on, year_on(case)
            assert until is not None
            if closed is None or closed > until:
                still_open += 1
            elif case.closure_reason in MOVE_ON_REASONS:
                moved += 1
        extra: dict[str, float | int | str | None] = {
            "still_open_at_12_months": still_open,
            "closed_otherwise": len(cases) - moved - still_open,
        }
        return Figure(group, rate(moved, len(cases)), len(cases), moved, extra=extra)

    return figures(grouped_cases(cohort, query, year_on), make)


MOVE_ON_WITHIN_12_MONTHS = Measure(
    key="move_on_within_12_months",
    title="Moved on within 12 months",
    definition=(
        "Of the support cases whose first 12 months since allocation ended in the period, the "
        "share that closed within those 12 months because the person moved on or achieved "
        "their support plan (closure reason moved_on or plan_achieved). Cases still open at 12 "
        "months, or closed for any other reason, did not move on; a case closed because the "
        "person died is not counted. By month: the month the 12 months ended."
    ),
    unit=Unit.PERCENT,
    compute=_move_on,
)

MEASURES = (STAGE_1_DAYS, STAGE_2_DAYS, STAGE_3_DAYS, MOVE_ON_WITHIN_12_MONTHS)
