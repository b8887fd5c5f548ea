"""Helpers every integration test shares: publish real events, poll until a condition holds."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Awaitable, Callable
from typing import Any

from pypdf import PdfReader

from shared.events.envelope import Envelope
from shared.kafka import EventPublisher, make_broker
from shared.mongo import make_mongo_client
from shared.quarantine import COLLECTION as QUARANTINE
from shared.quarantine import OpenedRecord, Quarantine
from shared.settings import HearthSettings


async def publish(settings: HearthSettings, *envelopes: Envelope) -> None:
    """Publish through the same producer setup the services use (acks=all, idempotent)."""
    broker = make_broker(settings)
    await broker.connect()
    try:
        await EventPublisher(broker, settings).publish_many(envelopes)
    finally:
        await broker.stop()


async def wait_for(
    check: Callable[[], Awaitable[Any]], timeout: float = 30.0, interval: float = 0.1
) -> Any:
    """Await `check()` until it returns something truthy; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"condition not met in {timeout} s (last: {result!r})")
        await asyncio.sleep(interval)


async def open_dead_letter(
    settings: HearthSettings,
    record: Any,
    database: str | None = None,
    keys: list[str] | None = None,
) -> OpenedRecord:
    """The original record behind a dead letter: its value names the quarantine entry, kept
    in the failing service's database (`database`; by default the settings' own)."""
    reference = json.loads(record.value)
    client = make_mongo_client(settings)
    try:
        collection = client[database or settings.database_name][QUARANTINE]
        quarantine = Quarantine(collection, reference["service"], keys or settings.quarantine_keys)
        return await quarantine.open(reference["quarantine_id"])
    finally:
        await client.close()


def pdf_text(pdf: bytes) -> str:
    """The text a PDF shows, read by a real PDF parser (every page, any font or script)."""
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
