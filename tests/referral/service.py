"""Running the referral service in-process against the real broker and database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from services.referral.app import ReferralRuntime, create_app
from shared.clock import Clock
from shared.settings import HearthSettings
from tests.identity import bearer

DERBY = bearer("derby-homes")
LEEDS = bearer("leeds-council")


@asynccontextmanager
async def running_referral(
    settings: HearthSettings, clock: Clock
) -> AsyncIterator[tuple[ReferralRuntime, httpx.AsyncClient]]:
    app = create_app(settings, clock, manage_runtime=False)
    runtime: ReferralRuntime = app.state.runtime
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://referral") as client:
            yield runtime, client
    finally:
        await runtime.stop()


def header(record: Any, name: str) -> str:
    return dict(record.headers)[name].decode()


def of_type(records: list[Any], short_type: str, subject: str | None = None) -> list[Any]:
    wanted = f"hearth.{short_type}.v1"
    found = [r for r in records if header(r, "ce_type") == wanted]
    return [r for r in found if subject is None or header(r, "ce_subject") == subject]


def data(record: Any) -> dict[str, Any]:
    return json.loads(record.value)
