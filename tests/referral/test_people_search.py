"""Finding a person (POST /v1/people/search) within what the caller may see, and resolving a
possible match (same name and birth date, another NI number) as the same person or not."""

from __future__ import annotations

import pytest

from shared.clock import ManualClock
from tests.identity import bearer
from tests.referral.factories import referral_json
from tests.referral.service import running_referral

pytestmark = pytest.mark.integration

ORG = "derby-homes"
MANAGER = bearer(ORG, ["service-manager"])
LEADER = bearer(ORG, ["team-leader"], ["team-a"])
CASEWORKER = bearer(ORG, ["caseworker"], ["team-z"], "worker-z")
LEEDS = bearer("leeds-council", ["service-manager"])


async def test_people_are_found_only_within_reach_and_possible_matches_are_resolved(
    make_settings,
) -> None:
    settings = make_settings("referral")
    async with running_referral(settings, ManualClock()) as (_, client):

        async def refer(key: str, ni: str) -> dict[str, object]:
            body = referral_json()
            body["person"] = {**body["person"], "ni_number": ni}
            body["referrer"] = {**body["referrer"], "reference": f"HO-{key}"}
            answer = await client.post(
                "/v1/referrals", json=body, headers={**MANAGER, "Idempotency-Key": key}
            )
            assert answer.status_code == 201, answer.text
            return dict(answer.json())

        first = await refer("one", "QQ 12 34 56 C")
        second = await refer("two", "QQ 65 43 21 A")  # same name and birth date, another NI
        shown = (await client.get(f"/v1/referrals/{second['id']}", headers=MANAGER)).json()
        assert shown["possible_matches"] == [first["person_id"]]

        async def search(headers: dict[str, str], **query: str) -> set[str]:
            answer = await client.post("/v1/people/search", json=query, headers=headers)
            assert answer.status_code == 200, answer.text
            return {p["referral_id"] for p in answer.json()["people"]}

        both = {str(first["id"]), str(second["id"])}
        assert await search(MANAGER, name="alex MOR") == both
        assert await search(MANAGER, name="Alex", date_of_birth="1984-03-02") == both
        assert await search(MANAGER, date_of_birth="1984-03-03") == set()
        assert await search(MANAGER, reference="ho-two") == {second["id"]}
        assert await search(MANAGER, reference=str(first["id"])) == {first["id"]}
        assert await search(LEADER, name="Morgan") == both  # waiting: the leader allocates
        assert await search(CASEWORKER, name="Morgan") == set()  # not yet their team's
        assert await search(LEEDS, name="Morgan") == set()  # another organisation's people
        empty = await client.post("/v1/people/search", json={}, headers=MANAGER)
        assert empty.status_code == 422

        decide = f"/v1/referrals/{second['id']}/possible-matches/{first['person_id']}"
        refused = await client.post(decide, json={"same_person": False}, headers=CASEWORKER)
        assert refused.status_code == 403
        elsewhere = await client.post(decide, json={"same_person": False}, headers=LEEDS)
        assert elsewhere.status_code == 404
        unlinked = await client.post(decide, json={"same_person": False}, headers=LEADER)
        assert unlinked.status_code == 200, unlinked.text
        again = await client.post(decide, json={"same_person": True}, headers=LEADER)
        assert again.status_code == 404  # resolved already
        after = (await client.get(f"/v1/referrals/{second['id']}", headers=MANAGER)).json()
        assert after["possible_matches"] == []
        assert [(d["person_id"], d["same_person"]) for d in after["match_decisions"]] == [
            (first["person_id"], False)
        ]
