"""Team and caseworker ids are each organisation's own (issue 20): "creating a team with
another organisation's id says that id exists". No id is probed across organisations."""

from __future__ import annotations

from typing import Any

import pytest

from shared.clock import ManualClock
from tests.allocation.helpers import DERBY, START, Service
from tests.identity import bearer

pytestmark = pytest.mark.integration

LEEDS = "leeds-council"


def team_body(team_id: str, leader: str) -> dict[str, Any]:
    return {
        "id": team_id,
        "name": f"{leader}'s team",
        "team_leader": {"id": leader, "name": leader.title(), "email": f"{leader}@test.example"},
    }


def worker_body(worker_id: str, team_id: str, hours: float) -> dict[str, Any]:
    return {
        "id": worker_id,
        "team_id": team_id,
        "name": worker_id.title(),
        "email": f"{worker_id}@test.example",
        "specialisms": ["generalist"],
        "contracted_hours": hours,
        "max_caseload": 5,
    }


async def test_another_organisations_ids_are_free_and_never_revealed(make_settings) -> None:
    settings = make_settings("allocation")
    service = await Service(settings, ManualClock(START)).start(background_loops=False)
    leeds = bearer(LEEDS)
    try:
        await service.post("/v1/teams", team_body("team-east", "abi"))
        await service.post("/v1/caseworkers", worker_body("cw-1", "team-east", 10.0))

        # Leeds takes the same ids: answered exactly as if they were free.
        response = await service.client.post(
            "/v1/teams", json=team_body("team-east", "lee"), headers=leeds
        )
        assert response.status_code == 201, response.text
        assert response.json()["team_leader"]["id"] == "lee"
        response = await service.client.post(
            "/v1/caseworkers", json=worker_body("cw-1", "team-east", 7.5), headers=leeds
        )
        assert response.status_code == 201, response.text

        # Each sees only its own.
        derby_team = await service.get("/v1/teams/team-east")
        leeds_team = (await service.client.get("/v1/teams/team-east", headers=leeds)).json()
        assert derby_team["team_leader"]["id"] == "abi" and leeds_team["team_leader"]["id"] == "lee"
        assert [w["contracted_hours"] for w in derby_team["caseworkers"]] == [10.0]
        assert [w["contracted_hours"] for w in leeds_team["caseworkers"]] == [7.5]
        assert [t["id"] for t in await service.get("/v1/teams")] == ["team-east"]
        leeds_teams = (await service.client.get("/v1/teams", headers=leeds)).json()
        assert [t["team_leader"]["id"] for t in leeds_teams] == ["lee"]
        derby_worker = await service.get("/v1/caseworkers/cw-1")
        assert derby_worker["contracted_hours"] == 10.0

        # A change by one organisation leaves the other's alone.
        response = await service.client.patch(
            "/v1/caseworkers/cw-1", json={"contracted_hours": 5}, headers=leeds
        )
        assert response.status_code == 200 and response.json()["free_hours"] == 5
        assert (await service.get("/v1/caseworkers/cw-1"))["free_hours"] == 10.0

        # An id taken in one's own organisation is still refused, naming the field.
        response = await service.client.post("/v1/teams", json=team_body("team-east", "abi"))
        assert response.status_code == 409 and "id" in response.text
        response = await service.client.post(
            "/v1/caseworkers", json=worker_body("cw-1", "team-east", 1.0), headers=leeds
        )
        assert response.status_code == 409
    finally:
        await service.client.aclose()
        await service.runtime.mongo.close()


async def test_teams_and_caseworkers_stored_before_ids_were_scoped_are_kept(
    make_settings,
) -> None:
    """Documents keyed by the id alone are re-keyed at startup; their ids stay the same."""
    settings = make_settings("allocation")
    service = await Service(settings, ManualClock(START)).start(background_loops=False)
    try:
        store = service.runtime.allocation_store
        await store.teams.collection.insert_one(
            {"_id": "team-old", "organisation": DERBY, "name": "Old", "team_leader_id": "abi"}
        )
        await store.workers.collection.insert_one(
            {
                "_id": "cw-old",
                "organisation": DERBY,
                "team_id": "team-old",
                "specialisms": ["generalist"],
                "contracted_hours": 6.0,
                "max_caseload": 4,
                "free_hours": 4.0,
                "free_slots": 3,
                "open_cases": 1,
                "cases": ["case-9"],
                "version": 3,
            }
        )
        await store.adopt_unscoped_ids()
        await store.adopt_unscoped_ids()  # again, as another replica would: nothing twice

        team = await service.get("/v1/teams/team-old")
        assert team["id"] == "team-old" and team["name"] == "Old"
        worker = await service.get("/v1/caseworkers/cw-old")
        assert (worker["id"], worker["free_hours"], worker["cases"]) == ("cw-old", 4.0, ["case-9"])
        assert await store.workers.collection.count_documents({}) == 1
        response = await service.client.post(
            "/v1/teams", json=team_body("team-old", "lee"), headers=bearer(LEEDS)
        )
        assert response.status_code == 201
    finally:
        await service.client.aclose()
        await service.runtime.mongo.close()
