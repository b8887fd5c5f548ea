"""What the reporting store keeps of an event (no personal data), and that a history is a
function of its facts, not of the order they came in (issue 18). Pure."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from services.outcomes.facts import KEPT, NEVER_KEPT, fact_from
from services.outcomes.histories import CaseHistory, fold_case, fold_tenancy
from shared.codes import ClosureReason, Route, SupportNeed, TenancyEndReason, TenancyOutcome
from shared.events.catalogue import (
    CaseAllocated,
    CaseClosed,
    ContactLogged,
    ReferralReceived,
    Referrer,
    StageChanged,
    TenancyArrearsReported,
    TenancyEnded,
)
from shared.events.envelope import make_event

AT = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
ORG = "derby-council"


def event(data, minutes: int = 0, org: str = ORG):  # type: ignore[no-untyped-def]
    envelope = make_event(
        data, source="test", organisation=org, time=AT + timedelta(minutes=minutes)
    )
    return fact_from(envelope, data)


def test_a_referrers_contact_and_a_closure_letter_never_reach_the_store() -> None:
    received = ReferralReceived(
        case_id="c1",
        person_id="p1",
        referrer=Referrer(
            organisation=ORG, source="outreach_team", name="Priya Shah", email="p@example.org"
        ),
        received_at=AT,
        support_needs=[SupportNeed.MENTAL_HEALTH],
    )
    closed = CaseClosed(
        case_id="c1",
        person_id="p1",
        route=Route.SUPPORT,
        reason=ClosureReason.TENANCY_SUSTAINED,
        closed_at=AT,
        local_support="Ring Jo at 07700 900123",
        crisis_support="Samaritans",
    )
    for fact in (event(received), event(closed)):
        text = repr(fact.document())
        for secret in ("Priya", "p@example.org", "07700", "Samaritans"):
            assert secret not in text
    assert event(received).data == {
        "person_id": "p1",
        "received_at": "2026-04-01T09:00:00Z",
        "support_needs": ["mental_health"],
        "automatic": False,
        "referral_source": "outreach_team",
    }


def test_no_kept_field_is_a_personal_one() -> None:
    for event_type, fields in KEPT.items():
        assert not set(fields) & NEVER_KEPT, event_type


def _case_facts() -> list:  # type: ignore[type-arg]
    return [
        event(
            ReferralReceived(
                case_id="c1",
                person_id="p1",
                referrer=Referrer(organisation=ORG, source="self"),
                received_at=AT,
                tenancy_id="t1",
            )
        ),
        event(
            CaseAllocated(
                case_id="c1",
                person_id="p1",
                route=Route.SUPPORT,
                lead_worker_id="w1",
                team_id="team-a",
                team_leader_id="tl",
                target_hours_per_week=2,
                allocated_at=AT + timedelta(days=3),
            ),
            1,
        ),
        event(
            ContactLogged(
                case_id="c1",
                contact_id="k1",
                contact_on=date(2026, 4, 6),
                channel="home_visit",
                duration_minutes=60,
                first=True,
            ),
            2,
        ),
        event(
            StageChanged(
                case_id="c1",
                previous_stage="stage_1",
                stage="stage_2",
                target_hours_per_week=1.5,
                changed_on=date(2026, 6, 20),
            ),
            3,
        ),
        event(
            CaseClosed(
                case_id="c1",
                person_id="p1",
                route=Route.SUPPORT,
                reason=ClosureReason.TENANCY_SUSTAINED,
                tenancy_outcome=TenancyOutcome.SUSTAINED,
                closed_at=AT + timedelta(days=200),
            ),
            4,
        ),
    ]


def test_a_case_history_is_the_same_whatever_order_its_facts_came_in() -> None:
    facts = _case_facts()
    expected = fold_case("c1", facts)
    for seed in range(10):
        shuffled = facts[:]
        random.Random(seed).shuffle(shuffled)
        assert fold_case("c1", shuffled) == expected
    assert expected.team_id == "team-a"
    assert expected.first_contact_on == date(2026, 4, 6)
    assert [(s.stage, s.started_on) for s in expected.stages] == [
        ("stage_1", date(2026, 4, 4)),
        ("stage_2", date(2026, 6, 20)),
    ]
    assert expected.closure_reason == "tenancy_sustained"


def test_a_case_history_survives_the_store_round_trip() -> None:
    history = fold_case("c1", _case_facts())
    assert CaseHistory.from_document(history.document()) == history


def test_a_tenancy_history_reads_balances_and_its_end() -> None:
    facts = [
        event(
            TenancyArrearsReported(
                tenancy_id="t1",
                landlord="derby-homes",
                alert_id="a1",
                reported_on=date(2026, 4, 1),
                arrears_balance=900.0,
                case_ids=["c1"],
            ),
            org="derby-homes",
        ),
        event(
            TenancyArrearsReported(
                tenancy_id="t1",
                landlord="derby-homes",
                alert_id="a2",
                reported_on=date(2026, 9, 1),
                arrears_balance=150.0,
            ),
            1,
            org="derby-homes",
        ),
        event(
            TenancyEnded(
                tenancy_id="t1",
                landlord="derby-homes",
                alert_id="a3",
                ended_on=date(2027, 1, 5),
                reason=TenancyEndReason.TRANSFER,
            ),
            2,
            org="derby-homes",
        ),
    ]
    tenancy = fold_tenancy("t1", facts)
    assert tenancy.balance_on(date(2026, 3, 31)) is None
    assert tenancy.balance_on(date(2026, 8, 31)) == 900.0
    assert tenancy.balance_on(date(2026, 9, 1)) == 150.0
    assert (tenancy.ended_on, tenancy.end_reason) == (date(2027, 1, 5), "transfer")
    assert tenancy.case_ids == ["c1"]


def test_a_missed_visit_is_no_first_contact() -> None:
    missed = ContactLogged(
        case_id="c1",
        contact_id="k0",
        contact_on=date(2026, 4, 5),
        channel="home_visit",
        first=True,
        attended=False,
    )
    history = fold_case("c1", [*_case_facts(), event(missed, 5)])
    assert (history.first_contact_on, history.contacts) == (date(2026, 4, 6), 1)
