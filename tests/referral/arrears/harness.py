"""An in-process arrears part on the real broker and database, without the intake app."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from services.referral.arrears import install
from shared.agreements import Agreement, DataCategory, Purpose
from shared.clock import ManualClock
from shared.http import create_http_app
from shared.runtime import ServiceRuntime
from shared.settings import HearthSettings
from tests.agreements_helper import end_agreement, grant_agreement
from tests.helpers import wait_for
from tests.identity import bearer

DERBY = bearer("derby-homes")
LEEDS = bearer("leeds-council")


@dataclass
class Arrears:
    runtime: ServiceRuntime
    client: httpx.AsyncClient
    settings: HearthSettings
    clock: ManualClock


@asynccontextmanager
async def running(settings: HearthSettings) -> AsyncIterator[Arrears]:
    clock = ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    runtime = ServiceRuntime(settings, clock, configure_logs=False)
    router = install(runtime)
    app = create_http_app(runtime, "arrears", "test", routers=[router], manage_runtime=False)
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://arrears", timeout=120
        ) as client:
            yield Arrears(runtime, client, settings, clock)
    finally:
        await runtime.stop()


def headers_of(record: Any) -> dict[str, str]:
    return {k: v.decode() for k, v in record.headers}


def data_of(record: Any) -> dict[str, Any]:
    return json.loads(record.value)


def of_type(records: list[Any], short_type: str) -> list[Any]:
    wanted = f"hearth.{short_type}.v1"
    return [r for r in records if headers_of(r).get("ce_type") == wanted]


def csv_file(text: str, name: str = "alerts.csv") -> dict[str, Any]:
    return {"file": (name, text.encode(), "text/csv")}


async def finished_upload(
    client: httpx.AsyncClient, job_id: str, headers: Any, timeout: float = 120
) -> dict[str, Any]:
    """Poll an upload's job until it is completed or failed; its last state, with every row's
    result from all its pages gathered into `rows`."""
    path = f"/v1/arrears-alerts/uploads/{job_id}"

    async def done() -> dict[str, Any] | None:
        answer = await client.get(path, headers=headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body if body["status"] in ("completed", "failed") else None

    job: dict[str, Any] = await wait_for(done, timeout=timeout, interval=0.2)
    rows = list(job["rows"])
    for page in range(1, job["pages"]):
        rows += (await client.get(path, params={"page": page}, headers=headers)).json()["rows"]
    return {**job, "rows": rows}


async def upload_csv(
    client: httpx.AsyncClient, text: str, headers: Any, timeout: float = 120
) -> dict[str, Any]:
    """Upload a CSV (202 with a job) and wait for its result."""
    accepted = await client.post("/v1/arrears-alerts/csv", headers=headers, files=csv_file(text))
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    assert accepted.headers["location"] == f"/v1/arrears-alerts/uploads/{job_id}"
    return await finished_upload(client, job_id, headers, timeout)


async def grant(
    svc: Arrears,
    landlord: str,
    other: str,
    purpose: Purpose,
    categories: Iterable[DataCategory] = tuple(DataCategory),
) -> Agreement:
    """A live agreement, published to the real broker, once this part's book holds it."""
    agreement = await grant_agreement(svc.settings, landlord, other, purpose, categories)
    await held_by_book(svc.runtime, agreement)
    return agreement


async def end(svc: Arrears, agreement: Agreement) -> Agreement:
    """The agreement ended at the service's own clock, once the book holds the end."""
    ended = await end_agreement(svc.settings, agreement, at=svc.clock.now())
    await held_by_book(svc.runtime, ended)
    return ended


async def held_by_book(runtime: ServiceRuntime, agreement: Agreement) -> None:
    books = runtime.collection("agreements")

    async def holds() -> bool:
        doc = await books.find_one({"_id": agreement.agreement_id})
        return doc is not None and doc["version"] >= agreement.version

    await wait_for(holds)
