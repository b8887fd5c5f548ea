"""HTTP intake against the real broker and database: events on Kafka, idempotency, scoping."""

from __future__ import annotations

import asyncio

import pytest

from shared.clock import ManualClock
from shared.topics import Topic, topic_name
from tests.referral.factories import reconnection_json, referral_json
from tests.referral.service import DERBY, LEEDS, data, header, of_type, running_referral

pytestmark = pytest.mark.integration


async def test_http_referral_is_received_assessed_and_shown_only_to_its_organisation(
    make_settings, topic_reader
) -> None:
    settings = make_settings("referral")
    async with running_referral(settings, ManualClock()) as (_runtime, client):
        events = await topic_reader(topic_name(Topic.REFERRAL_EVENTS, settings.topic_prefix))
        contacts = await topic_reader(topic_name(Topic.CONTACTS, settings.topic_prefix))

        # A rough sleeper referred in Hackney with a connection to Leeds: reconnection.
        headers = {**DERBY, "Idempotency-Key": "outreach-form-77"}
        first = await client.post("/v1/referrals", json=reconnection_json(), headers=headers)
        assert first.status_code == 201, first.text
        body = first.json()
        assert body["status"] == "assessed" and body["route"] == "reconnection"
        referral_id = body["id"]

        # The same call retried: the same referral, nothing new emitted.
        retry = await client.post("/v1/referrals", json=reconnection_json(), headers=headers)
        assert retry.status_code == 201 and retry.json()["id"] == referral_id
        changed = await client.post("/v1/referrals", json=referral_json(), headers={**headers})
        assert changed.status_code == 409 and "Idempotency-Key" in changed.json()["detail"]

        records = await events.read_until(
            lambda r: len(of_type(r, "ReferralAssessed", referral_id)) >= 1
        )
        received = of_type(records, "ReferralReceived", referral_id)
        assessed = of_type(records, "ReferralAssessed", referral_id)
        assert len(received) == 1
        assert data(assessed[0])["route"] == "reconnection"
        assert data(assessed[0])["referring_area"] == "Hackney"
        assert any("all three" in r for r in data(assessed[0])["reasons"])
        assert header(received[0], "ce_organisation") == "derby-homes"
        assert header(assessed[0], "ce_causationid") == header(received[0], "ce_id")
        assert data(received[0])["person_id"] == body["person_id"]

        # Consent to share (SMS and letters only): contact details for notifications.
        shared = await contacts.read_until(lambda r: len(of_type(r, "ContactDetailsShared")) >= 1)
        contact = data(of_type(shared, "ContactDetailsShared")[0])
        assert contact["case_id"] == referral_id and contact["mobile"] == "07700900123"
        assert contact["email"] is None and contact["postal_address"][1] == "Derby"
        assert header(shared[0], "ce_subject") == body["person_id"]

        # A supported-housing referral without consent to share: declined, no contact event.
        declined = await client.post(
            "/v1/referrals",
            json=referral_json(
                source="supported_housing_panel",
                consent={"to_record": True, "to_share": False},
                person={"given_name": "Kim", "family_name": "Ray"},
            ),
            headers=DERBY,
        )
        assert declined.status_code == 201 and declined.json()["route"] == "declined"
        assert "consent" in declined.json()["reasons"][0]

        # The referrer asks for the status; another organisation cannot see it.
        shown = await client.get(f"/v1/referrals/{referral_id}", headers=DERBY)
        assert shown.status_code == 200
        assert shown.json()["status"] == "assessed"
        assert [h["status"] for h in shown.json()["history"]] == ["received", "assessed"]
        assert shown.json()["submission"]["person"]["family_name"] == "Morgan"
        assert (await client.get(f"/v1/referrals/{referral_id}", headers=LEEDS)).status_code == 404
        assert (await client.get("/v1/referrals/no-such", headers=DERBY)).status_code == 404
        assert (await client.get(f"/v1/referrals/{referral_id}")).status_code == 401

        listed = await client.get(
            "/v1/referrals", params={"status": "assessed", "person_id": body["person_id"]},
            headers=DERBY,
        )  # fmt: skip
        assert [r["id"] for r in listed.json()["referrals"]] == [referral_id]
        assert (await client.get("/v1/referrals", headers=LEEDS)).json()["referrals"] == []
        assert (await client.get("/v1/referrals?status=lost", headers=DERBY)).status_code == 422

        # Bad input: 422 naming the field; nothing stored or emitted for it.
        bad = await client.post(
            "/v1/referrals",
            json=referral_json(consent={"to_record": False, "to_share": True}),
            headers=DERBY,
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "consent.to_record"
        bad = await client.post(
            "/v1/referrals", json=referral_json(support_needs=["hunger"]), headers=DERBY
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "support_needs.0"
        automatic = await client.post(
            "/v1/referrals", json=referral_json(automatic=True, source="arrears_alert",
            tenancy={"landlord_organisation": "derby-homes", "tenancy_reference": "T1"}),
            headers=DERBY,
        )  # fmt: skip
        assert automatic.status_code == 422
        assert automatic.json()["errors"][0]["field"] == "automatic"

        # The same call sent three times at once (a client retrying on timeout): one referral.
        racing = {**DERBY, "Idempotency-Key": "citizens-advice-5"}
        body = referral_json(source="citizens_advice", support_needs=["benefits", "old_age"])
        answers = await asyncio.gather(
            *(client.post("/v1/referrals", json=body, headers=racing) for _ in range(3))
        )
        assert {a.status_code for a in answers} == {201}
        assert len({a.json()["id"] for a in answers}) == 1
        assert answers[0].json()["route"] == "support"

        await events.settle(1.0)
        ids = {header(r, "ce_id") for r in of_type(events.records, "ReferralReceived")}
        assert len(ids) == 3  # reconnection, declined, citizens advice: one each
