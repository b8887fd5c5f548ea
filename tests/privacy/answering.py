"""Asking a service as the privacy service would, and reading its answers and its raw data."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from shared.events.envelope import Envelope, make_event
from shared.events.privacy_events import ErasureRequested, SubjectAccessRequested
from shared.ids import new_id
from shared.kafka import settings_security
from shared.mongo import Database
from shared.settings import HearthSettings
from tests.helpers import pdf_text, wait_for

NOW = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)


def access_request(organisation: str, person_id: str) -> Envelope:
    data = SubjectAccessRequested(
        request_id=new_id("sar"), organisation=organisation, person_id=person_id, requested_at=NOW
    )
    return make_event(data, source="privacy", organisation=organisation)


def erasure_request(organisation: str, person_id: str, **values: Any) -> Envelope:
    data = ErasureRequested(
        request_id=new_id("era"),
        organisation=organisation,
        person_id=person_id,
        basis=values.pop("basis", "request"),
        requested_at=NOW,
        **values,
    )
    return make_event(data, source="privacy", organisation=organisation)


async def answer(reader: Any, request: Envelope, service: str) -> dict[str, Any]:
    """The service's answer to `request` on privacy.responses (read from the beginning)."""

    def found(records: list[Any]) -> list[dict[str, Any]]:
        values = [json.loads(r.value) for r in records]
        return [
            v
            for v in values
            if v.get("request_id") == request.data["request_id"] and v.get("service") == service
        ]

    await reader.read_until(lambda records: bool(found(records)))
    (only,) = found(reader.records)
    return only


def _texts(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield str(key)
            yield from _texts(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from _texts(inner)
    elif isinstance(value, bytes | bytearray):
        raw = bytes(value)
        yield raw.decode("latin-1")
        if raw.startswith(b"%PDF"):
            yield pdf_text(raw)  # what a letter shows, whatever its fonts and encodings
        for stream in _STREAM.findall(raw):  # a PDF's compressed page contents
            try:
                yield zlib.decompress(stream).decode("latin-1")
            except zlib.error:
                continue
    else:
        yield str(value)


async def values_found(db: Database, values: Iterable[str]) -> dict[str, list[str]]:
    """Every one of `values` found anywhere in the database (any collection, any document,
    binaries and compressed PDF streams included), case-insensitive: value -> collections."""
    wanted = [v.lower() for v in values]
    hits: dict[str, list[str]] = {}
    for name in await db.list_collection_names():
        async for document in db[name].find({}):
            text = "\n".join(_texts(document)).lower()
            for value in wanted:
                if value in text:
                    hits.setdefault(value, []).append(name)
    return hits


async def consumed(settings: HearthSettings, group: str, topics: list[str]) -> None:
    """Wait until `group` has committed past every record of `topics`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka, **settings_security(settings))
    await admin.start()
    try:

        async def caught_up() -> bool:
            offsets = await admin.list_consumer_group_offsets(group)
            partitions = [
                TopicPartition(t, p) for t in topics for p in range(settings.topic_partitions)
            ]
            ends = await _end_offsets(settings, partitions)
            return all(
                ends[tp] == 0 or (tp in offsets and offsets[tp].offset >= ends[tp])
                for tp in partitions
            )

        await wait_for(caught_up, timeout=30)
    finally:
        await admin.close()


async def _end_offsets(
    settings: HearthSettings, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka, **settings_security(settings))
    await consumer.start()
    try:
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return ends
    finally:
        await consumer.stop()
