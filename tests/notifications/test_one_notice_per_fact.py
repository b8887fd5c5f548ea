"""One notification per fact per recipient per channel, over the real broker and database
(issue 20): "one high arrears alert sent the housing officer the same text twice (once for
TenancyAtRisk, once for CaseEscalated), and twice more by webhook"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from devstack.sinks import Received
from shared.codes import RiskLevel, Route
from shared.events.catalogue import CaseAllocated, CaseEscalated, ReferralAssessed, Referrer
from shared.events.envelope import Envelope, follow_on, make_event
from tests.notifications.conftest import ORG, Harness, eventually
from tests.notifications.events import allocated, at_risk, review_due

pytestmark = pytest.mark.integration

TENANCY = "derby-homes:T-100"
CASEWORKER = "casey.worker@derby.example"
TEAM_LEADER = "terry.leader@derby.example"
OFFICER = "officer@derbyhomes.example"
OTHER_WORKER = "gale.worker@derby.example"
HOOK = "/partner/homes"
ESCALATIONS_HOOK = "/partner/homes-escalations"


def escalated(cause: Envelope, case_id: str) -> Envelope:
    """The CaseEscalated support emits for `cause`, exactly as it makes it (actions/escalate.py)."""
    data = CaseEscalated(
        case_id=case_id,
        risk_level=RiskLevel.HIGH,
        reasons=["arrears_8_weeks", "notice_served"],
        crisis_worker_id="w-crisis",
        lead_worker_id="w-1",
        contact_frequency_per_week=2.0,
        tenancy_id=TENANCY,
    )
    return follow_on(cause, data, source="hearth/support", discriminator=case_id, organisation=ORG)


def other_case() -> Envelope:
    """A second open case on the tenancy (another worker): the alert naming it comes after the
    one under test on the same partition (same tenancy key), so once it is heard, the first
    was handled too."""
    data = CaseAllocated(
        case_id="case-g",
        person_id="p-2",
        route=Route.SUPPORT,
        lead_worker_id="w-2",
        team_id="team-1",
        team_leader_id="tl-1",
        target_hours_per_week=2.0,
        allocated_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        tenancy_id=TENANCY,
        lead_worker_email=OTHER_WORKER,
        team_leader_email=TEAM_LEADER,
    )
    return make_event(data, source="hearth/allocation", organisation=ORG)


def hooks(h: Harness, path: str, case_id: str) -> list[Received]:
    return [r for r in h.provider.on(path) if r.json()["case_id"] == case_id]


def emails_about(h: Harness, address: str, case_id: str, worker: str = CASEWORKER) -> list[Any]:
    """Messages to `address` about the case: by its id, or (the housing officer's, which
    names the tenancy) by the case's worker."""
    return [
        m
        for m in h.smtp.to(address)
        if case_id in m["Subject"] or (address == OFFICER and worker in m.get_content())
    ]


async def test_an_alert_and_the_escalation_it_caused_notify_each_recipient_once(
    harness: Harness,
) -> None:
    h = harness
    await h.api("PUT", "/v1/settings", "key-homes", json={"housing_officer_email": OFFICER})
    for path, types in [(HOOK, []), (ESCALATIONS_HOOK, ["CaseEscalated"])]:
        response = await h.api(
            "POST",
            "/v1/webhook-endpoints",
            "key-homes",
            json={"url": f"{h.provider.url}{path}", "event_types": types},
        )
        assert response.status_code == 201, response.text
    await h.publish(allocated("case-f", tenancy_id=TENANCY), other_case())
    await eventually(lambda: _at_least(len(h.smtp.messages), 4))  # both cases' two workers

    alert = at_risk("case-f", TENANCY)
    # The alert, the escalation it caused, then the barriers: a review reminder after the
    # escalation on the case's partition, an alert naming case-g after the first on the
    # tenancy's.
    await h.publish(alert, escalated(alert, "case-f"))
    await h.publish(review_due("case-f"), at_risk("case-g", TENANCY))

    async def settled() -> bool:
        reminded = any(m["Subject"].startswith("Review") for m in h.smtp.to(CASEWORKER))
        other = await h.deliveries(case_id="case-g", trigger_event_type="TenancyAtRisk")
        unsent = [
            d for d in await h.deliveries(case_id="case-f") if d["status"] in ("pending", "sending")
        ]
        return reminded and bool(other) and not unsent

    await eventually(settled)
    await eventually(lambda: _at_least(len(hooks(h, HOOK, "case-g")), 1))

    # One email per recipient per channel about the fact, whichever event told it first.
    urgent = [m for m in h.smtp.to(CASEWORKER) if m["Subject"].startswith("URGENT")]
    assert len(urgent) == 1, [m["Subject"] for m in urgent]
    leader = [m for m in emails_about(h, TEAM_LEADER, "case-f") if "URGENT" in m["Subject"]]
    assert len(leader) == 1, [m["Subject"] for m in leader]
    assert len(emails_about(h, OFFICER, "case-f")) == 1
    # And one webhook delivery per subscriber: also to the endpoint that asked only for
    # CaseEscalated, whichever of the two events was first.
    assert len(hooks(h, HOOK, "case-f")) == 1
    assert len(hooks(h, ESCALATIONS_HOOK, "case-f")) == 1

    # The delivery log: one record per (recipient, channel), each naming the fact.
    records = [
        d
        for d in await h.deliveries(case_id="case-f")
        if d["trigger_event_type"] in ("TenancyAtRisk", "CaseEscalated")
    ]
    kinds = [(d["recipient_key"], d["channel"]) for d in records]
    assert sorted(kinds) == sorted(
        [
            ("caseworker", "email"),
            ("team_leader", "email"),
            ("housing_officer", "email"),
            ("housing_officer", "webhook"),
        ]
    )
    assert len({d["fact_id"] for d in records}) == 1

    # The other case of the tenancy heard of its own alert: a fact of its own.
    assert len(emails_about(h, OFFICER, "case-g", worker=OTHER_WORKER)) == 1


async def test_an_organisations_template_naming_a_value_the_event_lacks_falls_back(
    harness: Harness,
) -> None:
    """Issue 20: 'the screening email reads "Your referral  has been screened." with an empty
    placeholder'. A referral without the referrer's reference is screened: the message names
    none given; an organisation's own version naming a value the event lacks is replaced by
    the default, never sent with a blank."""
    h = harness
    put = await h.api(
        "PUT",
        "/v1/templates/referral_status",
        json={"subject": "Screened ((case_id))", "body": "Screened ((referrer_name_typo))."},
    )
    assert put.status_code == 200, put.text
    referrer = Referrer(
        organisation="leeds-council", source="outreach_team", email="o@leeds.example"
    )
    screened = ReferralAssessed(
        case_id="case-s",
        person_id="p-s",
        route=Route.SUPPORT,
        reasons=["at_risk_of_eviction"],
        referrer=referrer,
        received_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    )
    await h.publish(make_event(screened, source="hearth/referral", organisation=ORG))
    await eventually(lambda: _at_least(len(h.smtp.to("o@leeds.example")), 1))
    (status,) = h.smtp.to("o@leeds.example")
    text = status.get_content()
    assert "Your referral  has been screened." not in text
    assert "Your referral (your reference: none given) has been screened." in text
    assert status["Subject"] == "Referral screened - case-s: support"  # the default's
    assert "Reasons: at_risk_of_eviction" in text


async def _at_least(value: int, n: int) -> bool:
    return value >= n
