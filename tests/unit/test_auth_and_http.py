"""Organisation-scoped API keys and field-naming errors on the shared HTTP app."""

from __future__ import annotations

import httpx
from fastapi import APIRouter
from pydantic import BaseModel

from shared.auth import CallerDep
from shared.http import create_http_app
from shared.runtime import ServiceRuntime
from shared.settings import HearthSettings


class Body(BaseModel):
    tenancy_reference: str
    balance: float


def app() -> object:
    settings = HearthSettings(service_name="probe", api_keys={"k-derby": "derby-homes"})
    router = APIRouter()

    @router.post("/echo")
    async def echo(body: Body, caller: CallerDep) -> dict[str, object]:
        return {"organisation": caller.organisation, "balance": body.balance}

    runtime = ServiceRuntime(settings, configure_logs=False)
    return create_http_app(runtime, "probe", "probe", [router], manage_runtime=False)


async def call(headers: dict[str, str], json: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=app())  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post("/v1/echo", headers=headers, json=json)


async def test_request_without_key_is_refused() -> None:
    response = await call({}, {"tenancy_reference": "T1", "balance": 1})
    assert response.status_code == 401
    assert "X-API-Key" in response.json()["detail"]


async def test_unknown_key_is_refused() -> None:
    response = await call({"X-API-Key": "nope"}, {"tenancy_reference": "T1", "balance": 1})
    assert response.status_code == 401


async def test_key_maps_to_its_organisation() -> None:
    response = await call({"X-API-Key": "k-derby"}, {"tenancy_reference": "T1", "balance": 1})
    assert response.status_code == 200
    assert response.json()["organisation"] == "derby-homes"


async def test_bad_field_is_named() -> None:
    response = await call({"X-API-Key": "k-derby"}, {"tenancy_reference": "T1", "balance": "x"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "balance"
    assert "balance" in response.json()["detail"]
