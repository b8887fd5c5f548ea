"""The allocation service in-process against the real broker and database, for tests."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import httpx

from services.allocation.app import create_app
from shared.clock import ManualClock
from shared.codes import LegalStage, RiskLevel, Route, SupportNeed
from shared.events.catalogue import ReferralAssessed, Referrer
from shared.events.envelope import Envelope, make_event
from shared.mongo import make_mongo_client
from shared.settings import HearthSettings
from tests.identity import bearer

DERBY = "derby-homes"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Service:
    """One runtime of the service with an HTTP client, as a replica would run."""

    def __init__(self, settings: HearthSettings, clock: ManualClock) -> None:
        self.app = create_app(settings, clock, manage_runtime=False)
        self.runtime = self.app.state.runtime
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://allocation",
            headers=bearer(DERBY),
        )

    async def start(self, background_loops: bool = True) -> Service:
        await self.runtime.start(background_loops=background_loops)
        return self

    async def stop(self) -> None:
        await self.client.aclose()
        await self.runtime.stop()

    async def post(self, path: str, body: Any, status: int = 201, **kw: Any) -> Any:
        response = await self.client.post(path, json=body, **kw)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    async def get(self, path: str, **kw: Any) -> Any:
        response = await self.client.get(path, **kw)
        assert response.status_code == 200, response.text
        return response.json()

    async def team(self, team_id: str = "team-a", leader: str = "abi") -> Any:
        body = {
            "id": team_id,
            "name": f"Tenancy support {team_id}",
            "team_leader": {"id": leader, "name": "Abi Davies", "email": f"{leader}@derby.test"},
        }
        return await self.post("/v1/teams", body)

    async def worker(
        self,
        worker_id: str,
        *specialisms: str,
        hours: float = 10.0,
        caseload: int = 10,
        team_id: str = "team-a",
    ) -> Any:
        body = {
            "id": worker_id,
            "team_id": team_id,
            "name": worker_id.title(),
            "email": f"{worker_id}@derby.test",
            "specialisms": list(specialisms) or ["generalist"],
            "contracted_hours": hours,
            "max_caseload": caseload,
        }
        return await self.post("/v1/caseworkers", body)


def assessed(
    case_id: str,
    *needs: SupportNeed,
    route: Route = Route.SUPPORT,
    risk: RiskLevel | None = None,
    legal: LegalStage = LegalStage.NONE,
    facing: date | None = None,
    repeat: bool = False,
    organisation: str = DERBY,
) -> Envelope:
    data = ReferralAssessed(
        case_id=case_id,
        person_id=f"person-{case_id}",
        route=route,
        reasons=["accepted"],
        referrer=Referrer(organisation="derby-council", source="housing_officer"),
        received_at=START,
        support_needs=list(needs),
        date_facing_homelessness=facing,
        legal_stage=legal,
        risk_level=risk,
        repeat_cycle=repeat,
        tenancy_id=f"{organisation}:T-{case_id}",
    )
    return make_event(data, source="tests", organisation=organisation)


def event(data: Any, organisation: str = DERBY) -> Envelope:
    return make_event(data, source="tests", organisation=organisation)


async def collection(settings: HearthSettings, name: str) -> list[dict[str, Any]]:
    client = make_mongo_client(settings)
    try:
        return await client[settings.database_name][name].find().to_list()
    finally:
        await client.close()


def records_of(records: list[Any], event_type: str) -> list[tuple[dict[str, str], dict[str, Any]]]:
    out = []
    for record in records:
        headers = {k: v.decode() for k, v in record.headers}
        if headers.get("ce_type") == f"hearth.{event_type}.v1":
            out.append((headers, json.loads(record.value)))
    return out
