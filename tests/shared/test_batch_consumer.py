"""Batch handlers: one call per poll for high-volume types, a poison event isolated."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from pymongo import UpdateOne

from shared.events.base import EventData
from shared.events.envelope import Envelope, make_event
from shared.inbox import mark_seen, unseen
from shared.kafka import ensure_topics
from shared.runtime import ServiceRuntime
from shared.topics import Topic, dlq_topic_name
from tests.shared.test_spine import publish, wait_for

pytestmark = pytest.mark.integration


class ProbeBulk(EventData):
    TYPE: ClassVar[str] = "ProbeBulk"
    TOPIC: ClassVar[str] = Topic.ARREARS_ALERTS

    case_id: str
    poison: bool = False


def bulk(case_id: str, poison: bool = False) -> Envelope:
    return make_event(ProbeBulk(case_id=case_id, poison=poison), source="t", organisation="o")


async def test_batch_handler_writes_in_bulk_and_isolates_a_poison_event(
    make_settings, topic_reader
) -> None:
    settings = make_settings("bulk", handler_retries=2)
    await ensure_topics(settings, [dlq_topic_name("bulk", settings.topic_prefix)])
    events = [bulk(f"c{i}") for i in range(200)]
    await publish(settings, *events[:100], bulk("bad", poison=True), *events[100:], events[0])

    runtime = ServiceRuntime(settings, configure_logs=False)
    counts = runtime.collection("counts")
    consumer = runtime.consumer([Topic.ARREARS_ALERTS])
    calls: list[int] = []

    @consumer.on_batch(ProbeBulk)
    async def handle(items: list[tuple[Envelope, Any]]) -> None:
        calls.append(len(items))
        if any(data.poison for _, data in items):
            raise ValueError("poison: cannot be handled")
        await counts.bulk_write(
            [
                UpdateOne(
                    {"_id": data.case_id, **unseen(envelope.id)},
                    {"$inc": {"n": 1}, **mark_seen(envelope.id)},
                )
                for envelope, data in items
            ],
            ordered=False,
        )

    # Upserts that hit an existing _id inside bulk_write break PyMongo on FerretDB 1.24
    # (its reply lacks nModified), so the documents exist before the guarded updates.
    await counts.insert_many([{"_id": f"c{i}", "n": 0} for i in range(200)])
    await runtime.start()
    try:

        async def all_counted() -> bool:
            return await counts.count_documents({"n": 1}) == 200

        await wait_for(all_counted)
        dlq = await topic_reader(dlq_topic_name("bulk", settings.topic_prefix))
        records = await dlq.read_until(lambda r: len(r) >= 1)
        assert {k: v.decode() for k, v in records[0].headers}["hearth_dlq_reason"].startswith(
            "poison"
        )
        assert await counts.count_documents({"n": {"$ne": 1}}) == 0  # the repeat changed nothing
        assert max(calls) > 1, "events arrived in batches"
    finally:
        await runtime.stop()


class ProbeRare(EventData):
    TYPE: ClassVar[str] = "ProbeRare"
    TOPIC: ClassVar[str] = Topic.ARREARS_ALERTS

    case_id: str


async def test_a_handler_of_several_types_sees_them_mixed_in_order(make_settings) -> None:
    settings = make_settings("mixed")
    await ensure_topics(settings)
    rare = make_event(ProbeRare(case_id="c"), source="t", organisation="o")
    events = [bulk("c"), bulk("c"), rare, bulk("c")]  # one key: one partition, one order
    await publish(settings, *events)

    runtime = ServiceRuntime(settings, configure_logs=False)
    consumer = runtime.consumer([Topic.ARREARS_ALERTS])
    seen: list[str] = []

    @consumer.on_batch(ProbeBulk, ProbeRare)
    async def handle(items: list[tuple[Envelope, Any]]) -> None:
        seen.extend(envelope.id for envelope, _ in items)

    await runtime.start()
    try:

        async def all_seen() -> bool:
            return len(seen) >= len(events)

        await wait_for(all_seen)
        assert seen == [event.id for event in events]
    finally:
        await runtime.stop()
