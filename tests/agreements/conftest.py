"""The agreements service in-process on the real broker and database, with real tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.agreements.app import AgreementsRuntime, create_app
from shared.settings import HearthSettings
from tests.identity import bearer

LANDLORD = "derby-homes"
COUNCIL = "derby-council"
OTHER = "leeds-council"
ADMIN = {org: bearer(org, roles=["organisation-admin"]) for org in (LANDLORD, COUNCIL, OTHER)}
MANAGER = bearer(COUNCIL, roles=["service-manager"])
AUDITOR = bearer(COUNCIL, roles=["auditor"])
CASEWORKER = bearer(COUNCIL, roles=["caseworker"], teams=["team-a"], caseworker_id="w1")


class AgreementsApp:
    def __init__(self, settings: HearthSettings) -> None:
        self.settings = settings
        self.app = create_app(settings, manage_runtime=False)
        self.runtime: AgreementsRuntime = self.app.state.runtime
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://agreements"
        )

    async def stop(self) -> None:
        await self.http.aclose()
        await self.app.state.verifier.close()
        await self.runtime.mongo.drop_database(self.settings.database_name)
        await self.runtime.stop()

    async def call(
        self, method: str, path: str, headers: Any, status: int, json: Any = None
    ) -> Any:
        response = await self.http.request(method, f"/v1{path}", headers=headers, json=json)
        assert response.status_code == status, (method, path, response.text)
        return response.json()

    async def propose(self, by: str = LANDLORD, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = proposal(**overrides)
        answer: dict[str, Any] = await self.call("POST", "/agreements", ADMIN[by], 201, body)
        return answer


def proposal(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "counterparty": COUNCIL,
        "purpose": "arrears-prevention",
        "categories": ["tenancy", "arrears"],
        "starts": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
        "note": "Derby Homes' risk raises prevention referrals in the council",
    }
    body.update(overrides)
    return body


@pytest.fixture
async def agreements(
    make_settings: Callable[..., HearthSettings],
) -> AsyncIterator[AgreementsApp]:
    service = AgreementsApp(make_settings("agreements"))
    await service.runtime.start()
    try:
        yield service
    finally:
        await service.stop()
