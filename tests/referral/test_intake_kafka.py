"""Referrals pushed to referral.intake, same-person recognition across agencies, and the
status and repeat-cycle history learnt from CaseAllocated / CaseClosed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import ManualClock
from shared.codes import ClosureReason, Route, TenancyOutcome
from shared.events.case_events import CaseAllocated, CaseClosed
from shared.events.envelope import make_event
from shared.events.referral_intake import ReferralSubmission, ReferralSubmitted
from shared.kafka import ensure_topics
from shared.topics import Topic, dlq_topic_name, topic_name
from tests.helpers import publish, wait_for
from tests.referral.factories import referral_json
from tests.referral.service import DERBY, LEEDS, data, header, of_type, running_referral
from tests.tenancies import tenancy_of

pytestmark = pytest.mark.integration

AUTOMATIC = {
    "source": "arrears_alert",
    "automatic": True,
    "referrer": {"organisation": "derby-homes", "source": "arrears_alert"},
    "tenancy": {"landlord_organisation": "derby-homes", "tenancy_reference": "dh-1001"},
    "support_needs": ["budgeting_debt"],
    "urgency": {
        "legal_stage": "eviction_date_set",
        "date_facing_homelessness": "2026-02-01",
        "risk_level": "critical",
    },
}


def submitted(referral_id: str, body: dict, organisation: str = "derby-homes"):
    event = ReferralSubmitted(
        referral_id=referral_id, submission=ReferralSubmission.model_validate(body)
    )
    return make_event(event, source="tests", organisation=organisation)


async def test_referral_submitted_twice_creates_one_referral(make_settings, topic_reader) -> None:
    settings = make_settings("referral")
    await ensure_topics(settings)
    automatic = submitted("prev-dh-1001", AUTOMATIC)
    resent = submitted("prev-dh-1001", AUTOMATIC)  # the sender retried with a new event id
    stolen = submitted("prev-dh-1001", AUTOMATIC, organisation="leeds-council")
    await publish(settings, automatic, automatic, resent, stolen)
    async with running_referral(settings, ManualClock()) as (_runtime, client):
        events = await topic_reader(topic_name(Topic.REFERRAL_EVENTS, settings.topic_prefix))
        records = await events.read_until(lambda r: len(of_type(r, "ReferralAssessed")) >= 1)
        await events.settle(1.5)
        records = events.records
        assert len({header(r, "ce_id") for r in of_type(records, "ReferralReceived")}) == 1
        assessed = of_type(records, "ReferralAssessed", "prev-dh-1001")
        assert len({header(r, "ce_id") for r in assessed}) == 1
        payload = data(assessed[0])
        assert payload["route"] == "support" and payload["risk_level"] == "critical"
        assert payload["legal_stage"] == "eviction_date_set"
        assert payload["tenancy_id"] == tenancy_of("derby-homes", "DH-1001")
        received = of_type(records, "ReferralReceived")[0]
        assert data(received)["automatic"] is True
        assert header(received, "ce_causationid") == automatic.id
        assert header(received, "ce_correlationid") == automatic.correlationid

        shown = await client.get("/v1/referrals/prev-dh-1001", headers=DERBY)
        assert shown.status_code == 200 and shown.json()["route"] == "support"
        assert (await client.get("/v1/referrals/prev-dh-1001", headers=LEEDS)).status_code == 404
        listed = (await client.get("/v1/referrals", headers=DERBY)).json()["referrals"]
        assert len(listed) == 1

        # Another organisation reusing the referral id is dead-lettered with the field named.
        dlq = await topic_reader(dlq_topic_name("referral", settings.topic_prefix))
        dead = await dlq.read_until(lambda r: len(r) >= 1)
        assert "referral_id" in header(dead[0], "hearth_dlq_reason")
        assert header(dead[0], "ce_id") == stolen.id


async def test_same_person_from_two_agencies_and_the_repeat_cycle(
    make_settings, topic_reader
) -> None:
    settings = make_settings("referral")
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with running_referral(settings, clock) as (runtime, client):
        events = await topic_reader(topic_name(Topic.REFERRAL_EVENTS, settings.topic_prefix))
        # Derby Homes' housing officer refers Alex with an NI number...
        first = await client.post(
            "/v1/referrals", json=referral_json(source="housing_officer"), headers=DERBY
        )
        assert first.status_code == 201, first.text
        person_id = first.json()["person_id"]
        # ...and probation, through the broker for Derby, with name and birth date only
        # (people are recognised within an organisation: person ids are its own).
        probation = referral_json(
            source="probation",
            referrer={"organisation": "probation-leeds", "source": "probation"},
            person={"given_name": " ALEX", "family_name": "morgan", "date_of_birth": "1984-03-02"},
        )
        await publish(settings, submitted("leeds-probation-1", probation, "derby-homes"))

        async def second_referral():
            response = await client.get("/v1/referrals/leeds-probation-1", headers=DERBY)
            return response.json() if response.status_code == 200 else None

        second = await wait_for(second_referral)
        assert second["person_id"] == person_id and second["repeat_cycle"] is False
        people = runtime.db["people"]
        person = await people.find_one({"_id": person_id})
        assert set(person["organisations"]) == {"derby-homes"}
        assert set(person["referral_ids"]) == {first.json()["id"], "leeds-probation-1"}
        # Derby sees both; the person id means nothing in another organisation.
        listed = await client.get("/v1/referrals", params={"person_id": person_id}, headers=DERBY)
        assert {r["id"] for r in listed.json()["referrals"]} == {
            first.json()["id"], "leeds-probation-1",
        }  # fmt: skip
        listed = await client.get("/v1/referrals", params={"person_id": person_id}, headers=LEEDS)
        assert listed.json()["referrals"] == []

        # Both cases are allocated, then closed; the second closure is delivered twice.
        now = clock.now()
        case_events = []
        for n, (case_id, org) in enumerate(
            [(first.json()["id"], "derby-homes"), ("leeds-probation-1", "derby-homes")]
        ):
            case_events.append(
                make_event(
                    CaseAllocated(
                        case_id=case_id, person_id=person_id, route=Route.SUPPORT,
                        lead_worker_id="w1", team_id="t1", team_leader_id="tl1",
                        target_hours_per_week=2, allocated_at=now + timedelta(days=1 + n),
                    ),
                    source="allocation", organisation=org,
                )
            )  # fmt: skip
            case_events.append(
                make_event(
                    CaseClosed(
                        case_id=case_id, person_id=person_id, route=Route.SUPPORT,
                        reason=ClosureReason.ABANDONED, tenancy_outcome=TenancyOutcome.ABANDONED,
                        closed_at=now + timedelta(days=30 + n),
                    ),
                    source="support", organisation=org,
                )
            )  # fmt: skip
        await publish(settings, *case_events, case_events[-1])

        async def two_closures():
            doc = await people.find_one({"_id": person_id})
            return doc if len(doc.get("closures", [])) >= 2 else None

        person = await wait_for(two_closures)
        shown = await client.get("/v1/referrals/leeds-probation-1", headers=DERBY)
        assert shown.json()["status"] == "closed"
        assert [h["status"] for h in shown.json()["history"]] == [
            "received", "assessed", "allocated", "closed",
        ]  # fmt: skip
        assert shown.json()["closure_reason"] == "abandoned"
        await events.settle(0.5)
        person = await people.find_one({"_id": person_id})
        assert len(person["closures"]) == 2  # the repeated CaseClosed changed nothing

        # Referred again two months later: flagged as in a cycle of homelessness.
        clock.advance(timedelta(days=60))
        third = await client.post(
            "/v1/referrals", json=referral_json(source="citizens_advice"), headers=DERBY
        )
        assert third.json()["person_id"] == person_id and third.json()["repeat_cycle"] is True
        records = await events.read_until(
            lambda r: len(of_type(r, "ReferralAssessed", third.json()["id"])) >= 1
        )
        assessed = data(of_type(records, "ReferralAssessed", third.json()["id"])[0])
        assert assessed["repeat_cycle"] is True
        assert any(r.startswith("repeat cycle: 2 cases") for r in assessed["reasons"])
