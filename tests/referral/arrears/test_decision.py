"""Rise / same / lower / repeat decisions, episodes, and open or pending cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.referral.arrears.decision import (
    CaseEntry,
    CaseStatus,
    Outcome,
    TenancyState,
    case_key,
    case_transition,
    decide,
    prevention_referral_id,
)
from services.referral.arrears.risk_rules import DEFAULT_RULES, Assessment, RiskRules
from shared.codes import RiskLevel

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TID = "derby-homes:T-1"
LOW, MEDIUM, HIGH, CRITICAL = RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH, RiskLevel.CRITICAL


def at(level: RiskLevel | None) -> Assessment:
    return Assessment(level, (f"because {level}",))


def state(signalled: RiskLevel | None = None, **kwargs) -> TenancyState:
    return TenancyState(tenancy_id=TID, version=1, signalled_level=signalled, **kwargs)


TABLE = [
    # (already signalled, new level, outcome, signals)
    (None, LOW, Outcome.UNCHANGED, False),  # below signal_from: recorded only
    (None, MEDIUM, Outcome.ACCEPTED, True),
    (None, CRITICAL, Outcome.ACCEPTED, True),
    (MEDIUM, MEDIUM, Outcome.UNCHANGED, False),  # same level
    (HIGH, MEDIUM, Outcome.UNCHANGED, False),  # lower level
    (HIGH, LOW, Outcome.UNCHANGED, False),
    (MEDIUM, HIGH, Outcome.ACCEPTED, True),  # a rise
    (HIGH, CRITICAL, Outcome.ACCEPTED, True),
    (HIGH, None, Outcome.ACCEPTED, False),  # cleared: the episode ends
    (None, None, Outcome.UNCHANGED, False),
]


@pytest.mark.parametrize(("before", "level", "outcome", "signals"), TABLE)
def test_rise_same_lower(before, level, outcome, signals) -> None:
    decision = decide(state(before), "alert-1", at(level), DEFAULT_RULES, NOW)
    assert decision.outcome == outcome
    assert (decision.signal is not None) == signals
    if signals:
        assert decision.state.signalled_level == level


def test_same_alert_again_is_a_duplicate() -> None:
    first = decide(state(), "alert-1", at(HIGH), DEFAULT_RULES, NOW)
    again = decide(first.state, "alert-1", at(HIGH), DEFAULT_RULES, NOW)
    assert again.outcome == Outcome.DUPLICATE and again.signal is None
    assert again.state == first.state


def test_no_case_raises_a_prevention_referral_once_per_episode() -> None:
    first = decide(state(), "a1", at(MEDIUM), DEFAULT_RULES, NOW)
    assert first.signal and first.signal.prevention_referral_id == prevention_referral_id(
        TID, 0, MEDIUM
    )
    # The referral is pending at once: a further rise signals, but refers no second time.
    rise = decide(first.state, "a2", at(CRITICAL), DEFAULT_RULES, NOW)
    assert rise.signal and rise.signal.level == CRITICAL
    assert rise.signal.prevention_referral_id is None


def test_open_case_is_named_and_no_referral_is_raised() -> None:
    open_case = {case_key("case-9"): CaseEntry("case-9", CaseStatus.OPEN, NOW)}
    decision = decide(state(cases=open_case), "a1", at(HIGH), DEFAULT_RULES, NOW)
    assert decision.signal and decision.signal.case_id == "case-9"
    assert decision.signal.prevention_referral_id is None


def test_pending_case_stops_a_referral_but_is_not_named() -> None:
    pending = {case_key("ref-1"): CaseEntry("ref-1", CaseStatus.PENDING)}
    decision = decide(state(cases=pending), "a1", at(HIGH), DEFAULT_RULES, NOW)
    assert decision.signal and decision.signal.case_id is None
    assert decision.signal.prevention_referral_id is None


def test_closed_case_allows_a_new_referral() -> None:
    closed = {case_key("case-1"): CaseEntry("case-1", CaseStatus.CLOSED)}
    decision = decide(state(cases=closed), "a1", at(HIGH), DEFAULT_RULES, NOW)
    assert decision.signal and decision.signal.prevention_referral_id


def test_cleared_arrears_end_the_episode_so_a_later_rise_signals_again() -> None:
    high = decide(state(), "a1", at(HIGH), DEFAULT_RULES, NOW).state
    cleared = decide(high, "a2", at(None), DEFAULT_RULES, NOW).state
    assert cleared.episode == 1 and cleared.signalled_level is None
    again = decide(cleared, "a3", at(MEDIUM), DEFAULT_RULES, NOW)
    assert again.signal and again.signal.episode == 1


def test_referral_threshold_can_be_above_the_signal_threshold() -> None:
    rules = RiskRules(signal_from=MEDIUM, refer_from=HIGH)
    medium = decide(state(), "a1", at(MEDIUM), rules, NOW)
    assert medium.signal and medium.signal.prevention_referral_id is None
    high = decide(medium.state, "a2", at(HIGH), rules, NOW)
    assert high.signal and high.signal.prevention_referral_id


def test_referral_ids_are_deterministic_and_valid_case_ids() -> None:
    rid = prevention_referral_id(TID, 3, HIGH)
    assert rid == prevention_referral_id(TID, 3, HIGH) != prevention_referral_id(TID, 4, HIGH)
    assert rid.startswith("prev-") and rid.replace("-", "").isalnum()


@pytest.mark.parametrize(
    ("current", "new", "moves"),
    [
        (None, CaseStatus.PENDING, True),
        (CaseStatus.PENDING, CaseStatus.OPEN, True),
        (CaseStatus.OPEN, CaseStatus.PENDING, False),  # a late ReferralAssessed
        (CaseStatus.OPEN, CaseStatus.CLOSED, True),
        (CaseStatus.CLOSED, CaseStatus.OPEN, False),  # a late CaseAllocated
        (CaseStatus.CLOSED, CaseStatus.CLOSED, False),
    ],
)
def test_case_status_only_moves_forward(current, new, moves) -> None:
    assert case_transition(current, new) is moves


def test_evolve_is_replace_without_init() -> None:
    # `evolve` stands in for `dataclasses.replace` on every alert's path: the same state.
    from dataclasses import replace

    before = state(MEDIUM, recent_alerts=("a",), cases={"k": CaseEntry("c", CaseStatus.OPEN)})
    changes = {"recent_alerts": ("a", "b"), "episode": 2, "signalled_level": None}
    assert before.evolve(**changes) == replace(before, **changes)
    assert before.recent_alerts == ("a",)  # the original is untouched


def test_evolve_refuses_a_name_that_is_not_a_field() -> None:
    with pytest.raises(TypeError, match="recent_alert"):
        state().evolve(recent_alert=("a",))
