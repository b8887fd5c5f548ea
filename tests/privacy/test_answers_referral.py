"""The referral service answers subject access and erasure for what it holds itself (issue 16),
against the real broker and database."""

from __future__ import annotations

import json

import pytest

from shared.clock import ManualClock
from shared.events.envelope import make_event
from shared.events.referral_intake import ReferralSubmission, ReferralSubmitted
from shared.kafka import ensure_topics
from shared.topics import Topic, topic_name
from tests.helpers import publish, wait_for
from tests.privacy.answering import (
    access_request,
    answer,
    consumed,
    erasure_request,
    values_found,
)
from tests.referral.factories import referral_json
from tests.referral.service import running_referral
from tests.tenancies import tenancy_of

pytestmark = pytest.mark.integration

COUNCIL = "derby-council"
OTHER = "leeds-council"
# Distinctive, so a scan finds them only where this person's data is.
PERSON = {
    "given_name": "Zephyrine",
    "family_name": "Quillfeather",
    "date_of_birth": "1979-07-14",
    "ni_number": "QQ 98 76 54 B",
    "household": [{"name": "Oberon Quillfeather", "relationship": "child"}],
}
CONTACT = {
    "phone": "01332 496071",
    "mobile": "07700900987",
    "email": "zephyrine.q@example.org",
    "postal_address": ["7 Larkspur Mews", "Derby", "DE9 9ZZ"],
    "preferred_channels": ["sms", "letter"],
}
IDENTIFYING = [
    "Zephyrine", "Quillfeather", "Oberon", "1979-07-14", "QQ 98 76 54 B", "01332 496071",
    "07700900987", "zephyrine.q@example.org", "Larkspur", "DE9 9ZZ", "LARK-4242",
    "sleeps in the Larkspur bus shelter",
]  # fmt: skip
OTHER_PERSON = {"given_name": "Bartholomew", "family_name": "Ogunsanya", "household": []}


def zephyrine() -> dict:
    return referral_json(
        person=PERSON,
        contact=CONTACT,
        tenancy={
            "landlord_organisation": "derby-homes",
            "tenancy_reference": "LARK-4242",
            "address": ["7 Larkspur Mews", "Derby"],
        },
        urgency={
            "date_facing_homelessness": "2026-02-20",
            "legal_stage": "notice_served",
            "notes": "sleeps in the Larkspur bus shelter",
        },
        notes="sleeps in the Larkspur bus shelter",
    )


def submitted(referral_id: str, body: dict, organisation: str):
    data = ReferralSubmitted(
        referral_id=referral_id, submission=ReferralSubmission.model_validate(body)
    )
    return make_event(data, source="tests", organisation=organisation)


async def test_referral_answers_access_and_erases_the_person(make_settings, topic_reader) -> None:
    settings = make_settings("referral")
    await ensure_topics(settings)
    prefix = settings.topic_prefix
    intake = topic_name(Topic.REFERRAL_INTAKE, prefix)
    await publish(
        settings,
        submitted("ref-zq-1", zephyrine(), COUNCIL),
        submitted("ref-bo-1", referral_json(person=OTHER_PERSON), OTHER),
    )
    async with running_referral(settings, ManualClock()) as (runtime, _client):
        referrals = runtime.db["referrals"]
        mine = await wait_for(lambda: referrals.find_one({"_id": "ref-zq-1"}))
        await wait_for(lambda: referrals.find_one({"_id": "ref-bo-1"}))
        person_id = mine["person_id"]
        # The arrears part's projection has the tenancy; the intake group is past the records.
        tenancy = tenancy_of("derby-homes", "LARK-4242")
        await wait_for(lambda: runtime.db["tenancy_risk"].find_one({"_id": tenancy}))
        await consumed(settings, f"{prefix}referral", [intake])
        responses = await topic_reader(topic_name(Topic.PRIVACY_RESPONSES, prefix))

        # Subject access: the person's data, where it is held and who it went to.
        sar = access_request(COUNCIL, person_id)
        await publish(settings, sar)
        bundle = await answer(responses, sar, "referral")
        assert bundle["person_id"] == person_id and bundle["organisation"] == COUNCIL
        kinds = {r["kind"] for r in bundle["records"]}
        assert {"referral", "people-index entry", "person-matching key"} <= kinds
        assert {"tenancy risk state", "consent"} <= kinds
        (referral,) = [r for r in bundle["records"] if r["kind"] == "referral"]
        assert referral["record_id"] == "ref-zq-1" and referral["held_in"] == "referral/referrals"
        assert referral["data"]["submission"]["person"]["given_name"] == "Zephyrine"
        assert referral["data"]["submission"]["contact"]["email"] == "zephyrine.q@example.org"
        assert referral["held_since"] and referral["last_changed"]
        assert any(s.startswith("derby-homes:") for s in referral["shared_with"])
        assert referral["data"]["referrer"]["name"] == "Sam Worker"
        assert "_inbox" not in referral["data"] and "request_hash" not in referral["data"]
        keys = [r for r in bundle["records"] if r["kind"] == "person-matching key"]
        assert all(r["data"]["made_from"] in ("ni", "name_dob") for r in keys)

        # The scan sees the values while they are held.
        held = await values_found(runtime.db, IDENTIFYING)
        assert {"zephyrine", "lark-4242", "07700900987", "1979-07-14"} <= set(held)

        # Erasure: de-identified, out of the index, consumed intake records deleted.
        erase = erasure_request(COUNCIL, person_id)
        await publish(settings, erase)
        done = await answer(responses, erase, "referral")
        assert done["deidentified"]["referral"] == 1
        assert done["erased"]["people-index entry"] == 1
        assert done["erased"]["person-matching key"] >= 1
        assert done["erased"]["tenancy risk state"] == 1 and done["erased"]["consent"] == 1
        assert done["erased"].get("consumed topic partitions", 0) >= 1

        async def clean() -> bool:
            return not await values_found(runtime.db, IDENTIFYING)

        await wait_for(clean, timeout=10)  # the access answer's outbox is cleared by the relay
        kept = await referrals.find_one({"_id": "ref-zq-1"})
        assert kept["person_id"] == person_id and kept["route"] and kept["status"]
        assert kept["submission"]["support_needs"] and kept["submission"]["household_size"] == 2
        assert kept["submission"]["urgency"]["legal_stage"] == "notice_served"
        assert kept["tenancy_id"] is None and kept["deidentified_at"]
        # Another organisation's person is untouched.
        other = await values_found(runtime.db, ["Bartholomew", "Ogunsanya"])
        assert set(other) == {"bartholomew", "ogunsanya"}

        # A second request is harmless and still answered.
        again = erasure_request(COUNCIL, person_id)
        await publish(settings, again)
        repeat = await answer(responses, again, "referral")
        assert repeat["deidentified"] == {} and "people-index entry" not in repeat["erased"]
        assert not await values_found(runtime.db, IDENTIFYING)

    # The intake topic no longer holds the consumed records (read from the beginning).
    reader = await topic_reader(intake)
    await reader.settle(2.0)
    text = "\n".join(r.value.decode() for r in reader.records)
    assert not [v for v in IDENTIFYING if v.lower() in text.lower()]


async def test_nothing_held_is_still_answered(make_settings, topic_reader) -> None:
    settings = make_settings("referral")
    await ensure_topics(settings)
    async with running_referral(settings, ManualClock()):
        responses = await topic_reader(topic_name(Topic.PRIVACY_RESPONSES, settings.topic_prefix))
        sar, erase = access_request(COUNCIL, "p-nobody"), erasure_request(COUNCIL, "p-nobody")
        await publish(settings, sar, erase)
        assert (await answer(responses, sar, "referral"))["records"] == []
        done = await answer(responses, erase, "referral")
        assert done["deidentified"] == {} and "referral" not in done["erased"]
        assert json.loads(json.dumps(done))["service"] == "referral"
