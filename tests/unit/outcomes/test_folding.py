"""Folding a poll onto a stored history equals folding every fact whole, and anything that
could make it differ is sent to the whole fold."""

from __future__ import annotations

import random

from services.outcomes.folding import FOLDED_FROM, extend, whole
from services.outcomes.histories import ordered
from tests.unit.outcomes.history_builder import fact


def _case_facts() -> list:
    return ordered(
        [
            fact("ReferralReceived", "c1", "2026-01-05", person_id="p1", support_needs=["debt"]),
            fact("ReferralAssessed", "c1", "2026-01-06", route="support", risk_level="high"),
            fact("CaseAllocated", "c1", "2026-01-07", route="support", stage="stage_1",
                 team_id="t1", lead_worker_id="w1", allocated_at="2026-01-07T12:00:00+00:00"),
            fact("ContactLogged", "c1", "2026-01-08", contact_on="2026-01-08",
                 duration_minutes=45, attended=True),
            fact("ContactLogged", "c1", "2026-01-09", contact_on="2026-01-09", attended=False),
            fact("SupportPlanAgreed", "c1", "2026-01-10", agreed_on="2026-01-10"),
            fact("ReviewDue", "c1", "2026-02-01", review_id="r1", review_point="6_weeks",
                 due_on="2026-02-18"),
            fact("ReviewCompleted", "c1", "2026-02-17", review_id="r1", review_point="6_weeks",
                 completed_on="2026-02-17", decision="continue"),
            fact("StageChanged", "c1", "2026-03-20", stage="stage_2", changed_on="2026-03-20",
                 target_hours_per_week=1.5),
            fact("CaseEscalated", "c1", "2026-04-01", risk_level="critical"),
            fact("CaseReallocated", "c1", "2026-04-02", lead_worker_id="w2"),
            fact("LearningPointsRecorded", "c1", "2026-05-01", entry_id="l1", points=2,
                 themes=["housing_supply"], recorded_on="2026-05-01"),
            fact("CaseClosed", "c1", "2026-06-30", reason="tenancy_sustained",
                 tenancy_outcome="sustained", closed_at="2026-06-30T12:00:00+00:00"),
        ]
    )  # fmt: skip


def _ids(facts: list) -> set[str]:
    return {f.id for f in facts}


def test_a_poll_folded_onto_the_history_before_it_equals_the_whole_fold() -> None:
    facts = _case_facts()
    expected = whole("case", "c1", facts)
    for cut in range(1, len(facts)):
        before, poll = facts[:cut], facts[cut:]
        stored = whole("case", "c1", before)
        folded = extend("case", "c1", stored, poll, _ids(poll))
        assert folded is not None
        assert folded.replaces == len(before)
        assert folded.document == expected


def test_polls_one_after_another_equal_the_whole_fold() -> None:
    facts = _case_facts()
    rng = random.Random(7)
    stored = None
    position = 0
    while position < len(facts):
        size = rng.randint(1, 4)
        poll = facts[position : position + size]
        rng.shuffle(poll)  # the order inside a poll does not matter
        folded = extend("case", "c1", stored, poll, _ids(poll))
        assert folded is not None
        stored = folded.document
        position += size
    assert stored == whole("case", "c1", facts)
    assert stored[FOLDED_FROM] == len(facts)


def test_a_new_history_from_its_first_poll() -> None:
    facts = _case_facts()[:3]
    folded = extend("case", "c1", None, facts, _ids(facts))
    assert folded is not None
    assert folded.replaces is None
    assert folded.document == whole("case", "c1", facts)


def test_a_fact_older_than_the_history_is_folded_whole() -> None:
    facts = _case_facts()
    late = facts[2]  # allocated, arriving after the contacts were folded
    stored = whole("case", "c1", [f for f in facts[:6] if f is not late])
    assert extend("case", "c1", stored, [late, facts[6]], {late.id, facts[6].id}) is None


def test_a_redelivered_fact_already_folded_is_folded_whole() -> None:
    facts = _case_facts()
    stored = whole("case", "c1", facts[:5])
    assert extend("case", "c1", stored, [facts[4], facts[5]], {facts[5].id}) is None


def test_a_redelivered_fact_with_no_history_is_folded_whole() -> None:
    """A poll that stored its facts and stopped before folding them: the redelivery finds the
    facts stored (not new) and no history; only the whole fold sees every fact."""
    facts = _case_facts()[:2]
    assert extend("case", "c1", None, facts, set()) is None


def test_a_stored_fact_not_yet_folded_that_comes_after_the_history_is_folded_on() -> None:
    facts = _case_facts()
    stored = whole("case", "c1", facts[:4])
    folded = extend("case", "c1", stored, facts[4:6], set())  # stored by a stopped poll
    assert folded is not None
    assert folded.document == whole("case", "c1", facts[:6])


def test_a_history_folded_before_it_kept_its_last_fact_is_folded_whole() -> None:
    facts = _case_facts()
    stored = {k: v for k, v in whole("case", "c1", facts[:4]).items() if k != "last"}
    assert extend("case", "c1", stored, facts[4:], _ids(facts[4:])) is None


def test_a_fact_repeated_inside_a_poll_counts_once() -> None:
    facts = _case_facts()
    stored = whole("case", "c1", facts[:4])
    folded = extend("case", "c1", stored, [facts[4], facts[4], facts[5]], _ids(facts[4:6]))
    assert folded is not None
    assert folded.document == whole("case", "c1", facts[:6])


def test_capacity_polls_equal_the_whole_fold() -> None:
    changes = [
        fact("CaseworkerCapacityChanged", "w1", "2026-01-0" + str(n), team_id="t1",
             hours_per_week=float(10 * n), active=n != 3)
        for n in range(1, 6)
    ]  # fmt: skip
    stored = whole("capacity", "w1", changes[:2])
    folded = extend("capacity", "w1", stored, changes[2:], _ids(changes[2:]))
    assert folded is not None
    assert folded.document == whole("capacity", "w1", changes)
