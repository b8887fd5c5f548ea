"""Private person matching (issue 15, item 4), against the real broker and database: keyed
match keys, person ids of one organisation, and matching across organisations only under a
live person-matching agreement, which tells that a partner knows the person and nothing more."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from services.referral.app import create_app
from services.referral.person_matching import MatchKeyError
from shared.agreements import DataCategory, Purpose
from shared.clock import ManualClock
from shared.ids import stable_id
from shared.topics import Topic, topic_name
from tests.agreements_helper import end_agreement, grant_agreement
from tests.helpers import wait_for
from tests.referral.factories import referral_json
from tests.referral.service import DERBY, LEEDS, data, of_type, running_referral

pytestmark = pytest.mark.integration

NI = "QQ123456C"
OLD_KEY = "old-1:an-older-person-match-secret-abcdefghij"
NEW_KEY = "new-2:the-newest-person-match-secret-klmnopqrst"


def _person(given: str, family: str, ni: str | None = NI) -> dict[str, Any]:
    return {
        "given_name": given,
        "family_name": family,
        "date_of_birth": "1984-03-02",
        "ni_number": ni,
        "household": [],
    }


async def _refer(client, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    answer = await client.post("/v1/referrals", json=referral_json(**overrides), headers=headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def _shown(client, headers: dict[str, str], referral_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    answer = await client.get(f"/v1/referrals/{referral_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def _count_is(collection, query: dict[str, Any], n: int) -> bool:  # type: ignore[no-untyped-def]
    return bool(await collection.count_documents(query) == n)


async def test_the_service_refuses_to_start_without_a_match_key(make_settings) -> None:
    app = create_app(make_settings("referral", person_match_keys=[]), ManualClock(), False)
    runtime = app.state.runtime
    try:
        with pytest.raises(MatchKeyError, match="HEARTH_PERSON_MATCH_KEYS: required"):
            await runtime.start()
    finally:
        await runtime.mongo.close()


async def test_without_an_agreement_another_organisation_learns_nothing(
    make_settings, topic_reader
) -> None:
    settings = make_settings("referral")
    async with running_referral(settings, ManualClock()) as (runtime, client):
        events = await topic_reader(topic_name(Topic.REFERRAL_EVENTS, settings.topic_prefix))
        derby = await _refer(client, DERBY)
        derby_again = await _refer(client, DERBY)
        assert derby_again["person_id"] == derby["person_id"]  # at home: recognised

        leeds = await _refer(client, LEEDS)
        # Leeds' referral of the same person is Leeds' own person: no link, no shared id.
        assert leeds["person_id"] != derby["person_id"]
        assert leeds["possible_duplicate_of"] is None and leeds["linked_referrals"] == []
        assert leeds["partner_matches"] == [] and leeds["warnings"] == []
        leeds_detail = await _shown(client, LEEDS, leeds["id"])
        assert leeds_detail["possible_matches"] == []
        derby_ids = {derby["id"], derby_again["id"], derby["person_id"]}
        assert not any(i in json.dumps(leeds_detail) for i in derby_ids)

        # Leeds again: matched within Leeds only.
        leeds_again = await _refer(client, LEEDS)
        assert leeds_again["person_id"] == leeds["person_id"]
        assert leeds_again["linked_referrals"] == [leeds["id"]]

        # Derby's view never names Leeds' referrals either.
        derby_detail = await _shown(client, DERBY, derby["id"])
        shown = json.dumps(derby_detail)
        assert not any(i in shown for i in (leeds["id"], leeds_again["id"], leeds["person_id"]))
        assert derby_detail["partner_matches"] == []
        listed = await client.get(
            "/v1/referrals", params={"person_id": derby["person_id"]}, headers=LEEDS
        )
        assert listed.json()["referrals"] == []  # Derby's person id means nothing in Leeds

        # The events reaching Leeds' services carry Leeds' person id only.
        records = await events.read_until(
            lambda r: len(of_type(r, "ReferralAssessed", leeds_again["id"])) >= 1
        )
        for kind in ("ReferralReceived", "ReferralAssessed"):
            for record in of_type(records, kind, leeds["id"]):
                body = data(record)
                assert body["person_id"] == leeds["person_id"]
                assert body["possible_duplicate_of"] is None
        # The people index: one organisation per person.
        async for person in runtime.db["people"].find({}):
            assert len(person["organisations"]) == 1


async def test_a_live_person_matching_agreement_tells_that_a_partner_knows_the_person(
    make_settings,
) -> None:
    settings = make_settings("referral")
    async with running_referral(settings, ManualClock()) as (runtime, client):
        derby = await _refer(client, DERBY)
        # An agreement for another purpose does not let people be matched.
        await grant_agreement(settings, "derby-homes", "leeds-council", Purpose.TENANCY_DATA)
        agreement = await grant_agreement(
            settings, "leeds-council", "derby-homes", Purpose.PERSON_MATCHING,
            [DataCategory.IDENTITY],
        )  # fmt: skip
        agreements = runtime.db["agreements"]
        await wait_for(lambda: _count_is(agreements, {"status": "active"}, 2))

        leeds = await _refer(client, LEEDS)
        assert leeds["partner_matches"] == ["derby-homes"]  # a match exists, and with whom
        # ... but still Leeds' own person, and nothing of Derby's records.
        assert leeds["person_id"] != derby["person_id"]
        assert leeds["possible_duplicate_of"] is None and leeds["linked_referrals"] == []
        leeds_detail = await _shown(client, LEEDS, leeds["id"])
        assert derby["id"] not in json.dumps(leeds_detail)
        assert derby["person_id"] not in json.dumps(leeds_detail)
        assert leeds_detail["repeat_cycle"] is False and leeds_detail["possible_matches"] == []

        # Derby, referring again, hears of Leeds the same way; at home, its own links.
        again = await _refer(client, DERBY)
        assert again["partner_matches"] == ["leeds-council"]
        assert again["person_id"] == derby["person_id"]
        assert again["linked_referrals"] == [derby["id"]]

        # Someone else entirely is matched with nobody.
        other = await _refer(client, LEEDS, person=_person("Robin", "Hale", "AB654321D"))
        assert other["partner_matches"] == []

        # Ended: checked at the moment of matching, so the next referral hears nothing.
        await end_agreement(settings, agreement)
        await wait_for(lambda: _count_is(agreements, {"status": "ended"}, 1))
        after = await _refer(client, LEEDS)
        assert after["partner_matches"] == [] and after["person_id"] == leeds["person_id"]


async def test_same_latin_given_name_with_different_cjk_family_names_are_two_people(
    make_settings,
) -> None:
    async with running_referral(make_settings("referral"), ManualClock()) as (_, client):
        wang = await _refer(client, DERBY, person=_person("José", "王", None))
        li = await _refer(client, DERBY, person=_person("José", "李", None))
        assert wang["person_id"] != li["person_id"]
        assert li["possible_duplicate_of"] is None and li["warnings"] == []
        # The same name in its own script again is the same person.
        wang_again = await _refer(client, DERBY, person=_person("JOSÉ", " 王 ", None))
        assert wang_again["person_id"] == wang["person_id"]
        # An all-punctuation family name gives no key: never matched with anyone.
        first = await _refer(client, DERBY, person=_person("José", "...", None))
        second = await _refer(client, DERBY, person=_person("José", "...", None))
        assert first["person_id"] != second["person_id"]


async def test_the_index_holds_no_plain_identifier_and_no_unkeyed_hash(make_settings) -> None:
    async with running_referral(make_settings("referral"), ManualClock()) as (runtime, client):
        await _refer(client, DERBY)
        await _refer(client, LEEDS, person=_person("Мария", "Иванова"))
        keys = await runtime.db["person_keys"].find({}).to_list()
        people = await runtime.db["people"].find({}).to_list()
    stored = json.dumps([*keys, *people], default=str)
    assert len(keys) == 4  # NI and name+dob, per organisation
    assert all(k["key"].split(":")[1] == "test-1" for k in keys)
    unkeyed = [
        hashlib.sha256(NI.encode()).hexdigest(),
        stable_id("person-ni", NI),
        stable_id("person-name-dob", "alex morgan", "1984-03-02"),
        stable_id("person-name-dob", "мария иванова", "1984-03-02"),
    ]
    plain = [NI, "QQ 12 34 56 C", "Alex", "Morgan", "alex", "morgan", "Мария", "мария"]
    plain.append("1984-03-02")
    for needle in [*unkeyed, *plain]:
        assert needle not in stored, needle


async def test_rotation_keeps_matching_people_indexed_under_the_old_key(make_settings) -> None:
    old = make_settings("referral", person_match_keys=[OLD_KEY])
    async with running_referral(old, ManualClock()) as (_, client):
        first = await _refer(client, DERBY)
    rotated = make_settings("referral", person_match_keys=[NEW_KEY, OLD_KEY])
    async with running_referral(rotated, ManualClock()) as (runtime, client):
        again = await _refer(client, DERBY)
        assert again["person_id"] == first["person_id"]
        assert again["linked_referrals"] == [first["id"]]
        key_ids = sorted([k["key"].split(":")[1] async for k in runtime.db["person_keys"].find()])
    # Claimed under the newest key as the person was referred again; the old entries stay
    # until the index is re-keyed.
    assert key_ids == ["new-2", "new-2", "old-1", "old-1"]
    only_new = make_settings("referral", person_match_keys=[NEW_KEY])
    async with running_referral(only_new, ManualClock()) as (_, client):
        third = await _refer(client, DERBY)
        assert third["person_id"] == first["person_id"]
