"""An in-process arrears part on the real broker and database, without the intake app."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from services.referral.arrears import install
from shared.clock import ManualClock
from shared.http import create_http_app
from shared.runtime import ServiceRuntime
from shared.settings import HearthSettings
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
