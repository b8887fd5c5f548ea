"""A referral for a person who already has an open referral in the same organisation is kept
(never dropped: it is screened and allocated as usual) but flagged and linked to the open one,
so a team leader can merge them; over HTTP and the referral.intake topic alike."""

from __future__ import annotations

import pytest

from shared.clock import ManualClock
from shared.events.envelope import make_event
from shared.events.referral_intake import ReferralSubmission, ReferralSubmitted
from shared.topics import Topic, topic_name
from tests.helpers import publish, wait_for
from tests.identity import bearer
from tests.referral.factories import referral_json
from tests.referral.service import DERBY, LEEDS, data, of_type, running_referral

pytestmark = pytest.mark.integration

CASEWORKER = bearer("derby-homes", ["caseworker"], ["team-x"], "worker-x")


async def test_a_second_open_referral_of_a_person_is_flagged_and_linked(
    make_settings, topic_reader
) -> None:
    settings = make_settings("referral")
    async with running_referral(settings, ManualClock()) as (runtime, client):
        events = await topic_reader(topic_name(Topic.REFERRAL_EVENTS, settings.topic_prefix))

        first = await client.post("/v1/referrals", json=referral_json(), headers=DERBY)
        assert first.status_code == 201, first.text
        original = first.json()
        assert original["possible_duplicate_of"] is None and original["warnings"] == []

        # The same person again, no Idempotency-Key (another referrer's form): kept, flagged.
        again = await client.post(
            "/v1/referrals", json=referral_json(referring_area="Derbyshire"), headers=DERBY
        )
        assert again.status_code == 201, again.text
        second = again.json()
        assert second["id"] != original["id"] and second["person_id"] == original["person_id"]
        assert second["route"] == "support"  # still screened and routed: never dropped
        assert second["possible_duplicate_of"] == original["id"]
        assert second["linked_referrals"] == [original["id"]]
        assert "open referral" in second["warnings"][0]

        # Both views show the link, each way.
        shown = (await client.get(f"/v1/referrals/{second['id']}", headers=DERBY)).json()
        assert shown["possible_duplicate_of"] == original["id"]
        back = await wait_for(
            lambda: _linked(client, original["id"]), timeout=10
        )  # the back-link is a second write
        assert back == [second["id"]]
        listed = await client.get(
            "/v1/referrals", params={"person_id": original["person_id"]}, headers=DERBY
        )
        flags = {r["id"]: r["possible_duplicate_of"] for r in listed.json()["referrals"]}
        assert flags == {original["id"]: None, second["id"]: original["id"]}

        # The events say so too, for allocation's waiting list and anyone else.
        records = await events.read_until(
            lambda r: len(of_type(r, "ReferralAssessed", second["id"])) >= 1
        )
        assert (
            data(of_type(records, "ReferralAssessed", second["id"])[0])["possible_duplicate_of"]
            == original["id"]
        )
        assert (
            data(of_type(records, "ReferralReceived", second["id"])[0])["possible_duplicate_of"]
            == original["id"]
        )
        assert (
            data(of_type(records, "ReferralReceived", original["id"])[0])["possible_duplicate_of"]
            is None
        )

        # A caseworker who cannot see the open referral hears of it, but not which one it is.
        third = await client.post("/v1/referrals", json=referral_json(), headers=CASEWORKER)
        assert third.status_code == 201, third.text
        assert third.json()["warnings"] and third.json()["possible_duplicate_of"] is None
        assert third.json()["linked_referrals"] == []

        # Another organisation's referral of the same person is that organisation's own.
        leeds = await client.post("/v1/referrals", json=referral_json(), headers=LEEDS)
        assert leeds.status_code == 201 and leeds.json()["possible_duplicate_of"] is None
        # ... with its own person id: nothing tells Leeds that Derby knows this person.
        assert leeds.json()["person_id"] != original["person_id"]
        assert leeds.json()["linked_referrals"] == [] and leeds.json()["partner_matches"] == []

        # A closed referral is not open: no flag.
        await runtime.db["referrals"].update_many(
            {"organisation": "derby-homes"}, {"$set": {"status": "closed"}}
        )
        fresh = await client.post("/v1/referrals", json=referral_json(), headers=DERBY)
        assert fresh.json()["possible_duplicate_of"] is None and fresh.json()["warnings"] == []

        # The intake topic is the same door: a partner's resubmission is flagged too.
        submission = ReferralSubmission.model_validate(referral_json())
        event = ReferralSubmitted(referral_id="partner-77", submission=submission)
        await publish(settings, make_event(event, source="tests", organisation="derby-homes"))
        pushed = await wait_for(lambda: runtime.db["referrals"].find_one({"_id": "partner-77"}))
        assert pushed["possible_duplicate_of"] == fresh.json()["id"]


async def _linked(client, referral_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    shown = await client.get(f"/v1/referrals/{referral_id}", headers=DERBY)
    return list(shown.json()["linked_referrals"])


async def test_a_batch_with_the_same_person_twice_links_the_second_to_the_first(
    make_settings,
) -> None:
    settings = make_settings("referral")
    submission = ReferralSubmission.model_validate(referral_json())
    await publish(
        settings,
        *(
            make_event(
                ReferralSubmitted(referral_id=rid, submission=submission),
                source="tests",
                organisation="derby-homes",
            )
            for rid in ("batch-1", "batch-2")
        ),
    )
    async with running_referral(settings, ManualClock()) as (runtime, _client):
        referrals = runtime.db["referrals"]
        await wait_for(lambda: referrals.count_documents({}), timeout=30)
        await wait_for(lambda: _count_is(referrals, 2), timeout=30)
        docs = {d["_id"]: d async for d in referrals.find({})}
        flagged = [d for d in docs.values() if d.get("possible_duplicate_of")]
        assert len(flagged) == 1
        assert flagged[0]["possible_duplicate_of"] in docs
        assert flagged[0]["possible_duplicate_of"] != flagged[0]["_id"]


async def _count_is(collection, n: int) -> bool:  # type: ignore[no-untyped-def]
    return bool(await collection.count_documents({}) == n)
