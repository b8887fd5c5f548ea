"""The waiting list's priority function, from the seeds' own criteria."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.allocation.priority import (
    Priority,
    PriorityFacts,
    RiskSignal,
    continued_priority,
    priority,
    rank_key,
)
from services.allocation.records import CaseEntry, Review
from services.allocation.waiting_list import combined_ranking, rank_waiting
from shared.codes import LegalStage, RiskLevel, SupportNeed

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


def parts(result: Priority) -> dict[str, float]:
    return {p.code: p.points for p in result.parts}


@pytest.mark.parametrize(
    ("days_until_homeless", "points"),
    [
        (-3, 40.0),  # homeless already
        (0, 40.0),
        (5, 35.0),
        (7, 35.0),
        (10, 30.0),
        (20, 20.0),
        (56, 10.0),  # the edge of the prevention-duty window
        (57, None),
        (120, None),
    ],
)
def test_urgency_rises_as_the_date_facing_homelessness_nears(
    days_until_homeless: int, points: float | None
) -> None:
    facts = PriorityFacts(date_facing_homelessness=TODAY + timedelta(days=days_until_homeless))
    assert parts(priority(facts, NOW)).get("urgency") == points


@pytest.mark.parametrize(
    ("stage", "points"),
    [
        (LegalStage.NONE, None),
        (LegalStage.NOTICE_SERVED, 10.0),
        (LegalStage.COURT_DATE_SET, 20.0),
        (LegalStage.POSSESSION_ORDER, 30.0),
        (LegalStage.EVICTION_DATE_SET, 40.0),
    ],
)
def test_each_legal_stage_adds_more(stage: LegalStage, points: float | None) -> None:
    assert parts(priority(PriorityFacts(legal_stage=stage), NOW)).get("legal_stage") == points


def test_risk_from_assessment_and_raised_by_a_later_tenancy_alert() -> None:
    assessed = PriorityFacts(risk_level=RiskLevel.MEDIUM)
    assert parts(priority(assessed, NOW))["risk"] == 15.0
    raised = PriorityFacts(
        risk_level=RiskLevel.MEDIUM,
        risk_signals=(
            RiskSignal(RiskLevel.CRITICAL, ("eviction date set",), LegalStage.EVICTION_DATE_SET),
        ),
    )
    result = priority(raised, NOW)
    assert parts(result)["risk"] == 45.0
    assert parts(result)["legal_stage"] == 40.0  # the alert's legal stage counts too
    assert any("raised by a tenancy-risk alert: eviction date set" in r for r in result.reasons)
    # A later, lower alert never lowers the risk.
    lower = PriorityFacts(risk_level=RiskLevel.HIGH, risk_signals=(RiskSignal(RiskLevel.LOW),))
    assert parts(priority(lower, NOW))["risk"] == 30.0


def test_needs_count_by_number_and_severity_with_a_ceiling() -> None:
    # Derby: domestic violence and budgeting affect the ability to keep the tenancy.
    derby = PriorityFacts(support_needs=(SupportNeed.DOMESTIC_ABUSE, SupportNeed.BUDGETING_DEBT))
    result = priority(derby, NOW)
    assert parts(result)["needs"] == 10.0
    assert "2 support needs: domestic abuse, budgeting debt (+10)" in result.reasons
    # The staged model's "small group" with substance misuse, offending and mental health.
    many = PriorityFacts(
        support_needs=(
            SupportNeed.DRUG_DEPENDENCY,
            SupportNeed.ALCOHOL_DEPENDENCY,
            SupportNeed.OFFENDING,
            SupportNeed.MENTAL_HEALTH,
            SupportNeed.ROUGH_SLEEPING,
            SupportNeed.DOMESTIC_ABUSE,
        )
    )
    assert parts(priority(many, NOW))["needs"] == 30.0  # capped
    single = PriorityFacts(support_needs=(SupportNeed.BENEFITS, SupportNeed.BENEFITS))
    assert parts(priority(single, NOW))["needs"] == 2.0  # a repeated need counts once


def test_repeat_cycle_flag_adds_priority() -> None:
    result = priority(PriorityFacts(repeat_cycle=True), NOW)
    assert parts(result) == {"repeat_cycle": 15.0}
    assert result.reasons == ["repeat cycle of homelessness (+15)"]


def test_time_waiting_ages_every_case_to_the_top_in_the_end() -> None:
    crisis = PriorityFacts(
        support_needs=(SupportNeed.DOMESTIC_ABUSE, SupportNeed.MENTAL_HEALTH),
        date_facing_homelessness=TODAY,
        legal_stage=LegalStage.EVICTION_DATE_SET,
        risk_level=RiskLevel.CRITICAL,
        repeat_cycle=True,
        waiting_since=NOW,
    )
    low = PriorityFacts(support_needs=(SupportNeed.BENEFITS,), waiting_since=NOW)
    assert priority(crisis, NOW).score > priority(low, NOW).score
    long_ago = PriorityFacts(
        support_needs=(SupportNeed.BENEFITS,), waiting_since=NOW - timedelta(days=200)
    )
    assert priority(long_ago, NOW).score > priority(crisis, NOW).score
    assert "waiting 200 days (+200)" in priority(long_ago, NOW).reasons


def test_an_empty_case_scores_zero_with_no_reasons() -> None:
    result = priority(PriorityFacts(waiting_since=NOW), NOW)
    assert result.score == 0 and result.reasons == []


def test_every_point_of_the_score_has_a_reason() -> None:
    facts = PriorityFacts(
        support_needs=(SupportNeed.OFFENDING,),
        date_facing_homelessness=TODAY + timedelta(days=12),
        legal_stage=LegalStage.COURT_DATE_SET,
        risk_level=RiskLevel.HIGH,
        repeat_cycle=True,
        waiting_since=NOW - timedelta(days=3),
    )
    result = priority(facts, NOW)
    assert result.score == sum(p.points for p in result.parts) == 30 + 20 + 30 + 4 + 15 + 3
    assert len(result.reasons) == 6


def test_continued_priority_at_review_counts_current_need_only() -> None:
    facts = PriorityFacts(
        support_needs=(SupportNeed.MENTAL_HEALTH,),
        date_facing_homelessness=date(2025, 1, 1),  # history by the 6-month review
        legal_stage=LegalStage.NOTICE_SERVED,
        risk_level=RiskLevel.MEDIUM,
        waiting_since=NOW - timedelta(days=400),
    )
    result = continued_priority(facts, NOW, "stage_2_month_6")
    assert parts(result) == {"review": 0.0, "risk": 15.0, "needs": 6.0}
    assert result.reasons[0] == "continued priority at review stage_2_month_6 (+0)"


def test_ties_go_to_whoever_waited_longest() -> None:
    early, late = NOW - timedelta(days=1), NOW
    assert sorted([rank_key(10, late, "a"), rank_key(10, early, "b")])[0][2] == "b"
    assert sorted([rank_key(10, early, "a"), rank_key(11, late, "b")])[0][2] == "b"


def entry(case_id: str, **fields: object) -> CaseEntry:
    return CaseEntry.model_validate(
        {"_id": case_id, "waiting_since": NOW, "route": "support", **fields}
    )


def test_ranking_puts_reviews_beside_waiting_cases_with_positions_for_waiting_only() -> None:
    waiting = [
        entry("low", support_needs=["benefits"]),
        entry("urgent", legal_stage="eviction_date_set", risk_level="high"),
        entry("middle", support_needs=["mental_health"], risk_level="medium"),
    ]
    review = {"_id": "open-1", "review_point": "stage_1_week_12", "recorded_at": NOW}
    reviews = [Review.model_validate({**review, "organisation": "org", "review_id": "r"})]
    cases = {"open-1": entry("open-1", risk_level="high", support_needs=["domestic_abuse"])}
    assert [d.case_id for d, _ in rank_waiting(waiting, NOW)] == ["urgent", "middle", "low"]
    ranking = combined_ranking(waiting, reviews, cases, NOW)
    assert [(r.case_id, r.kind, r.rank, r.position) for r in ranking] == [
        ("urgent", "waiting", 1, 1),
        ("open-1", "review", 2, None),
        ("middle", "waiting", 3, 2),
        ("low", "waiting", 4, 3),
    ]
