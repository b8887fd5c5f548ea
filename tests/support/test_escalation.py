"""Safety-net escalation rules."""

from __future__ import annotations

from datetime import date

import pytest

from services.support.escalation import RiskSignal, decide_escalation, should_escalate
from shared.codes import LegalStage, RiskLevel

TODAY = date(2026, 5, 4)
LOW, MEDIUM, HIGH, CRITICAL = RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH, RiskLevel.CRITICAL


def signal(level: RiskLevel, *reasons: str, **kwargs: object) -> RiskSignal:
    return RiskSignal(level, tuple(reasons) or ("arrears",), "tenancy_alert", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        (None, LOW, True),
        (MEDIUM, HIGH, True),  # a higher level escalates again
        (HIGH, HIGH, False),  # the same level does not
        (CRITICAL, HIGH, False),  # nor a lower one
    ],
)
def test_only_a_higher_level_escalates(
    current: RiskLevel | None, new: RiskLevel, expected: bool
) -> None:
    assert should_escalate(current, new) is expected


@pytest.mark.parametrize(
    ("level", "current", "expected"),
    [(HIGH, 2.0, 3.0), (CRITICAL, 3.0, 7.0), (MEDIUM, 1.0, 2.0), (LOW, 3.0, 3.0)],
)
def test_contact_frequency_is_raised_never_lowered(
    level: RiskLevel, current: float, expected: float
) -> None:
    decision = decide_escalation(
        None,
        signal(level),
        lead_worker_id="w1",
        designated_crisis_worker=None,
        current_frequency=current,
        today=TODAY,
    )
    assert decision is not None and decision.contact_frequency_per_week == expected


def test_designated_crisis_worker_or_the_lead_until_one_is_designated() -> None:
    common = {"lead_worker_id": "lead", "current_frequency": 1.0, "today": TODAY}
    own = decide_escalation(None, signal(HIGH), designated_crisis_worker=None, **common)  # type: ignore[arg-type]
    team = decide_escalation(None, signal(HIGH), designated_crisis_worker="crisis", **common)  # type: ignore[arg-type]
    assert own and (own.crisis_worker_id, own.crisis_worker_designated) == ("lead", False)
    assert team and (team.crisis_worker_id, team.crisis_worker_designated) == ("crisis", True)


def test_arrears_get_early_advocacy_with_the_housing_officer() -> None:
    decision = decide_escalation(
        None,
        signal(HIGH, "weeks_in_arrears>=8", arrears_balance=1500.0),
        lead_worker_id="w",
        designated_crisis_worker=None,
        current_frequency=None,
        today=TODAY,
    )
    assert decision is not None
    kinds = {a.kind for a in decision.advocacy_actions}
    assert {"arrears_advocacy", "specialist_backup"} <= kinds
    assert not decision.plan_to_leave and not decision.tenancy_breaking_down


def test_neighbour_issues_and_notice_get_their_own_advocacy() -> None:
    decision = decide_escalation(
        None,
        signal(MEDIUM, "asb_reported", legal_stage=LegalStage.NOTICE_SERVED),
        lead_worker_id="w",
        designated_crisis_worker=None,
        current_frequency=None,
        today=TODAY,
    )
    assert decision is not None
    assert {"neighbour_advocacy", "legal_advice"} <= {a.kind for a in decision.advocacy_actions}


@pytest.mark.parametrize(
    ("legal_stage", "eviction_date", "breaking_down"),
    [
        (LegalStage.POSSESSION_ORDER, None, True),
        (LegalStage.EVICTION_DATE_SET, date(2026, 5, 20), True),
        (LegalStage.NONE, date(2026, 5, 20), True),
        (LegalStage.COURT_DATE_SET, None, False),
    ],
)
def test_plan_to_leave_when_the_tenancy_is_breaking_down(
    legal_stage: LegalStage, eviction_date: date | None, breaking_down: bool
) -> None:
    decision = decide_escalation(
        None,
        signal(CRITICAL, legal_stage=legal_stage, eviction_date=eviction_date),
        lead_worker_id="w",
        designated_crisis_worker=None,
        current_frequency=None,
        today=TODAY,
    )
    assert decision is not None and decision.tenancy_breaking_down is breaking_down
    kinds = {a.kind for a in decision.plan_to_leave}
    if breaking_down:
        assert kinds == {
            "plan_to_leave_housing_officer",
            "plan_to_leave_furniture",
            "plan_to_leave_accommodation_referral",
            "plan_to_leave_crisis_contacts",
        }
        deadline = eviction_date or date(2026, 5, 18)
        assert all(a.due_on <= deadline for a in decision.plan_to_leave)
    else:
        assert kinds == set()


def test_no_escalation_at_the_same_level() -> None:
    assert (
        decide_escalation(
            HIGH,
            signal(HIGH),
            lead_worker_id="w",
            designated_crisis_worker=None,
            current_frequency=3.0,
            today=TODAY,
        )
        is None
    )
