"""HTTP: teams and caseworkers per organisation, reallocation, capacity, bad input."""

from __future__ import annotations

import asyncio

import pytest

from shared.clock import ManualClock
from shared.codes import SupportNeed
from shared.kafka import ensure_topics
from shared.topics import Topic, topic_name
from tests.allocation.helpers import DERBY, START, Service, assessed, records_of
from tests.helpers import publish, wait_for
from tests.identity import bearer

pytestmark = pytest.mark.integration


async def test_teams_and_caseworkers_are_scoped_and_validated(make_settings) -> None:
    settings = make_settings("allocation")
    # HTTP only (the broker carries the audit entries); no background loops needed.
    service = await Service(settings, ManualClock(START)).start(background_loops=False)
    try:
        team = await service.team()
        assert team["team_leader"] == {"id": "abi", "name": "Abi Davies", "email": "abi@derby.test"}
        worker = await service.worker("mia", "mental_health", "generalist", hours=18.5)
        assert worker["free_hours"] == 18.5 and worker["hours_committed"] == 0
        assert worker["specialisms"] == ["mental_health", "generalist"]

        leeds = bearer("leeds-council")
        assert (await service.client.get("/v1/teams", headers=leeds)).json() == []
        assert (await service.client.get("/v1/caseworkers/mia", headers=leeds)).status_code == 404
        assert (await service.client.get("/v1/teams/team-a", headers=leeds)).status_code == 404
        body = {
            "team_id": "team-a",
            "name": "X",
            "email": "x@leeds.test",
            "specialisms": ["generalist"],
            "contracted_hours": 10,
            "max_caseload": 5,
        }
        response = await service.client.post("/v1/caseworkers", json=body, headers=leeds)
        assert response.status_code == 422 and "team_id" in response.text
        assert (
            await service.client.get("/v1/teams", headers={"Authorization": ""})
        ).status_code == 401

        bad = [
            ({**body, "specialisms": ["astrology"]}, "specialisms.0"),
            ({**body, "specialisms": []}, "specialisms"),
            ({**body, "contracted_hours": 0}, "contracted_hours"),
            ({**body, "contracted_hours": 10.1}, "contracted_hours"),
            ({**body, "max_caseload": 0}, "max_caseload"),
            ({**body, "email": "not-an-email"}, "email"),
            ({**body, "surprise": 1}, "surprise"),
        ]
        for payload, field in bad:
            response = await service.client.post("/v1/caseworkers", json=payload)
            assert response.status_code == 422, payload
            assert field in response.json()["detail"], response.text
        response = await service.client.post("/v1/caseworkers", json={**body, "id": "mia"})
        assert response.status_code == 409
        response = await service.client.get("/v1/caseworkers/%20bad")
        assert response.status_code == 422

        leave = {"leave_from": "2026-03-01", "leave_to": "2026-03-20"}
        response = await service.client.put("/v1/caseworkers/mia/availability", json=leave)
        assert response.status_code == 200 and response.json()["on_leave_today"] is True
        response = await service.client.put(
            "/v1/caseworkers/mia/availability",
            json={"leave_from": "2026-03-20", "leave_to": "2026-03-01"},
        )
        assert response.status_code == 422 and "leave_to" in response.text
        response = await service.client.patch("/v1/caseworkers/mia", json={"contracted_hours": 20})
        assert response.status_code == 200 and response.json()["free_hours"] == 20
        response = await service.client.patch("/v1/teams/team-a", json={"name": "Derby north"})
        assert response.json()["name"] == "Derby north"
    finally:
        await service.client.aclose()
        await service.runtime.mongo.close()


async def test_reallocation_moves_the_hours_and_emits_case_reallocated(
    make_settings, topic_reader
) -> None:
    settings = make_settings("allocation")
    await ensure_topics(settings)
    service = await Service(settings, ManualClock(START)).start()
    try:
        await service.team()
        await service.team("team-b", leader="lee")
        await service.worker("ana", "domestic_abuse", hours=4.0)
        await publish(settings, assessed("case-1", SupportNeed.DOMESTIC_ABUSE))

        async def allocated() -> bool:
            response = await service.client.get("/v1/cases/case-1")
            return response.status_code == 200 and response.json()["status"] == "allocated"

        await wait_for(allocated)
        await service.worker("bea", "domestic_abuse", hours=2.0, team_id="team-b")
        await service.worker("cal", "generalist", hours=1.0)

        # Nobody may over-commit: cal has 1 h for a 2 h case.
        response = await service.client.post(
            "/v1/cases/case-1/reallocate",
            json={"reason": "change_of_worker", "to_worker_id": "cal"},
        )
        assert response.status_code == 409 and "2 h free" in response.text
        for payload, status in [
            ({"reason": "cover"}, 422),  # cover needs an end date
            ({"reason": "holiday"}, 422),
            ({"reason": "change_of_worker", "to_worker_id": "ana"}, 409),  # already the lead
            ({"reason": "change_of_worker", "to_worker_id": "nobody"}, 422),
        ]:
            response = await service.client.post("/v1/cases/case-1/reallocate", json=payload)
            assert response.status_code == status, (payload, response.text)
        response = await service.client.post(
            "/v1/cases/nope/reallocate", json={"reason": "change_of_worker"}
        )
        assert response.status_code == 404

        # Cover during ana's leave: the best other domestic-abuse worker, until a date.
        response = await service.client.post(
            "/v1/cases/case-1/reallocate", json={"reason": "cover", "cover_until": "2026-04-01"}
        )
        assert response.status_code == 200, response.text
        allocation = response.json()["allocation"]
        assert allocation["worker_id"] == "bea" and allocation["team_id"] == "team-b"
        assert allocation["cover_until"] == "2026-04-01"
        ana, bea = [await service.get(f"/v1/caseworkers/{w}") for w in ("ana", "bea")]
        assert (ana["free_hours"], ana["open_cases"]) == (4.0, 0)
        assert (bea["free_hours"], bea["open_cases"]) == (0.0, 1)
        listed = await service.get("/v1/caseworkers?with_cases=true")
        assert {w["id"]: w["cases"] for w in listed} == {"ana": [], "bea": ["case-1"], "cal": []}
        assert "cases" not in (await service.get("/v1/caseworkers"))[0]

        reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))
        await reader.read_until(lambda r: len(records_of(r, "CaseReallocated")) >= 1)
        _, moved = records_of(reader.records, "CaseReallocated")[0]
        assert moved["previous_worker_id"] == "ana" and moved["lead_worker_id"] == "bea"
        assert moved["reason"] == "cover" and moved["cover_until"] == "2026-04-01"
        assert moved["team_leader_id"] == "lee" and moved["lead_worker_email"] == "bea@derby.test"
        assert moved["team_leader_email"] == "lee@derby.test"

        # Contracted hours cannot drop below what is committed.
        response = await service.client.patch("/v1/caseworkers/bea", json={"contracted_hours": 1})
        assert response.status_code == 409 and "contracted_hours" in response.text
    finally:
        await service.stop()


async def test_claims_racing_for_one_workers_last_hours_never_over_commit(make_settings) -> None:
    """The atomic claim itself, from two replicas at once (FerretDB needs the worker lock)."""
    settings = make_settings("allocation")
    first = await Service(settings, ManualClock(START)).start(background_loops=False)
    second = await Service(settings, ManualClock(START)).start(background_loops=False)
    try:
        await first.runtime.allocation_store.ensure_indexes()
        await first.team()
        await first.worker("solo", "generalist", hours=7.0, caseload=10)
        allocators = [first.runtime.allocator, second.runtime.allocator]
        results = await asyncio.gather(
            *(allocators[n % 2].claim(DERBY, "solo", f"case-{n}", 2.0) for n in range(12)),
            *(allocators[n % 2].claim(DERBY, "solo", "case-0", 2.0) for n in range(4)),  # repeats
        )
        assert sum(r is not None for r in results) == 3  # 7 h hold three 2 h cases
        solo = await first.get("/v1/caseworkers/solo")
        assert (solo["free_hours"], solo["open_cases"], len(solo["cases"])) == (1.0, 3, 3)
    finally:
        for service in (first, second):
            await service.client.aclose()
            await service.runtime.mongo.close()
