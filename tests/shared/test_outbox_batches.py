"""Bulk inserts whose events wait in one outbox batch, against the real broker and database:
published once, and after a crash exactly the events of the documents the batch inserted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.kafka import EventPublisher, ensure_topics, make_broker
from shared.mongo import make_mongo_client
from shared.outbox import OutboxRelay
from shared.outbox_batches import BATCH_FIELD, OutboxBatches
from shared.topics import Topic, topic_name
from tests.shared.test_spine import counted

pytestmark = pytest.mark.integration


class BrokerDown(Exception):
    pass


class Stack:
    def __init__(self, settings: Any) -> None:
        self.client = make_mongo_client(settings)
        self.db = self.client[settings.database_name]
        self.broker = make_broker(settings)
        self.publisher = EventPublisher(self.broker, settings)
        self.batches = OutboxBatches(self.db["outbox_batches"])
        self.relay = OutboxRelay(self.publisher, grace=timedelta(0), batches=self.batches)
        self.things = self.db["things"]

    async def close(self) -> None:
        await self.broker.stop()
        await self.client.drop_database(self.db.name)
        await self.client.close()


@pytest.fixture
async def stack(make_settings) -> Any:
    settings = make_settings("batches")
    await ensure_topics(settings)
    built = Stack(settings)
    await built.broker.connect()
    yield built, settings
    await built.close()


async def read_ids(topic_reader, settings, n: int) -> set[bytes]:
    reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))
    records = await reader.read_until(lambda r: len(r) >= n)
    return {dict(r.headers)["ce_id"] for r in records}


async def test_inserted_documents_events_published_once_and_batch_forgotten(
    stack, topic_reader
) -> None:
    built, settings = stack
    await built.things.insert_one({"_id": "old"})  # exists: skipped, its events too
    events = {doc_id: counted(doc_id) for doc_id in ("a", "b", "old")}
    inserted = await built.relay.insert_many(
        built.things, [({"_id": doc_id}, [event]) for doc_id, event in events.items()]
    )
    assert sorted(d["_id"] for d in inserted) == ["a", "b"]
    assert await read_ids(topic_reader, settings, 2) == {
        events["a"].id.encode(),
        events["b"].id.encode(),
    }
    assert await built.batches.collection.count_documents({}) == 0
    assert await built.things.count_documents({BATCH_FIELD: {"$exists": True}}) == 2
    assert await built.relay.sweep_once() == 0


async def test_a_failed_publish_is_recovered_by_the_sweep(stack, topic_reader) -> None:
    built, settings = stack
    event = counted("c")

    async def broker_down(*_: Any, **__: Any) -> None:
        raise BrokerDown

    publish_many = built.publisher.publish_many
    built.publisher.publish_many = broker_down  # type: ignore[method-assign]
    await built.relay.insert_many(built.things, [({"_id": "c"}, [event])])  # deferred
    built.publisher.publish_many = publish_many  # type: ignore[method-assign]
    assert await built.batches.collection.count_documents({}) == 1

    assert await built.relay.sweep_once() == 1
    assert await read_ids(topic_reader, settings, 1) == {event.id.encode()}
    assert await built.batches.collection.count_documents({}) == 0


async def test_the_sweep_publishes_only_what_the_batch_inserted(stack, topic_reader) -> None:
    """A crash between writing the batch and inserting its documents: one was inserted by the
    batch, one never was, one belongs to another writer. Only the first one's event goes out."""
    built, settings = stack
    events = {doc_id: counted(doc_id) for doc_id in ("mine", "never", "theirs")}
    await built.batches.collection.insert_one(
        {
            "_id": "batch-1",
            "collection": "things",
            "at": datetime.now(UTC) - timedelta(minutes=1),
            "events": json.dumps({k: [e.model_dump(mode="json")] for k, e in events.items()}),
        }
    )
    await built.things.insert_many(
        [{"_id": "mine", BATCH_FIELD: "batch-1"}, {"_id": "theirs", BATCH_FIELD: "batch-0"}]
    )
    assert await built.relay.sweep_once() == 1
    assert await read_ids(topic_reader, settings, 1) == {events["mine"].id.encode()}
    assert await built.batches.collection.count_documents({}) == 0
