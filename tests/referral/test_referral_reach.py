"""Referrals by reach: a caseworker sees their team's referrals (and those they lead), a team
leader also the ones still waiting for a team; the filter is in the query, so a page is full."""

from __future__ import annotations

import pytest

from shared.clock import ManualClock
from tests.identity import bearer
from tests.referral.factories import referral_json
from tests.referral.service import DERBY, running_referral

pytestmark = pytest.mark.integration

ORG = "derby-homes"


async def test_referral_lists_and_pages_hold_only_what_the_caller_reaches(make_settings) -> None:
    settings = make_settings("referral")
    async with running_referral(settings, ManualClock()) as (runtime, client):
        ids = []
        for n in range(4):
            answer = await client.post(
                "/v1/referrals", json=referral_json(), headers={**DERBY, "Idempotency-Key": f"k{n}"}
            )
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
        # What the CaseAllocated handler records: two for team-a, one for team-b, one waiting.
        referrals = runtime.db["referrals"]
        teams = {ids[0]: ("team-a", "jo"), ids[1]: ("team-a", "sam"), ids[2]: ("team-b", "lee")}
        for referral_id, (team, worker) in teams.items():
            await referrals.update_one(
                {"_id": referral_id}, {"$set": {"team_id": team, "lead_worker_id": worker}}
            )

        async def listed(headers: object, **params: object) -> set[str]:
            answer = await client.get("/v1/referrals", headers=headers, params=params)  # type: ignore[arg-type]
            assert answer.status_code == 200, answer.text
            return {r["id"] for r in answer.json()["referrals"]}

        team_a = bearer(ORG, ["caseworker"], ["team-a"], "jo")
        leader_a = bearer(ORG, ["team-leader"], ["team-a"])
        lead_elsewhere = bearer(ORG, ["caseworker"], ["team-c"], "lee")
        assert await listed(team_a) == {ids[0], ids[1]}
        assert await listed(leader_a) == {ids[0], ids[1], ids[3]}
        assert await listed(lead_elsewhere) == {ids[2]}
        assert await listed(bearer(ORG, ["service-manager"])) == set(ids)
        assert len(await listed(team_a, limit=2)) == 2  # a full page, not a filtered one
        single = await client.get(f"/v1/referrals/{ids[2]}", headers=team_a)
        assert single.status_code == 404
        waiting = await client.get(f"/v1/referrals/{ids[3]}", headers=leader_a)
        assert waiting.status_code == 200

        # Named ids (a caseload's names in one call): still only what the caller reaches.
        asked = {"id": [ids[0], ids[2], ids[3]]}
        assert await listed(team_a, **asked) == {ids[0]}
        assert await listed(bearer(ORG, ["service-manager"]), **asked) == {ids[0], ids[2], ids[3]}
        named = await client.get("/v1/referrals", headers=team_a, params={"id": ids[0]})
        assert named.json()["referrals"][0]["person_name"] == "Alex Morgan"
        bad = await client.get("/v1/referrals", headers=team_a, params={"id": "no spaces allowed"})
        assert bad.status_code == 422 and "id" in bad.text


async def test_the_referrer_keeps_sight_of_their_referral_after_another_team_takes_it(
    make_settings,
) -> None:
    """A housing options officer follows the status of the referrals they made; a colleague
    of the same team who did not make it does not see it once another team has it."""
    settings = make_settings("referral")
    maker = bearer(ORG, ["team-leader"], ["housing-options"])
    colleague = bearer(ORG, ["team-leader"], ["housing-options"], "colleague")
    async with running_referral(settings, ManualClock()) as (runtime, client):
        answer = await client.post(
            "/v1/referrals", json=referral_json(), headers={**maker, "Idempotency-Key": "made"}
        )
        assert answer.status_code == 201, answer.text
        referral_id = answer.json()["id"]
        await runtime.db["referrals"].update_one(
            {"_id": referral_id}, {"$set": {"team_id": "sustainment", "lead_worker_id": "jo"}}
        )
        for headers, status in ((colleague, 404), (maker, 200)):
            single = await client.get(f"/v1/referrals/{referral_id}", headers=headers)
            assert single.status_code == status, single.text
            listed = await client.get("/v1/referrals", headers=headers)
            ids = {r["id"] for r in listed.json()["referrals"]}
            assert (referral_id in ids) == (status == 200)
