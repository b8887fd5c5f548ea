"""Bulk inserts whose events wait in one leased outbox batch, against the real broker and
database: published once; after a crash at any step, exactly the events of the documents the
batch inserted; and never recovered while its writer is still inserting."""

from __future__ import annotations

import contextlib
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
    expired = datetime.now(UTC) - timedelta(minutes=1)
    await built.batches.collection.insert_one(
        {
            "_id": "batch-1",
            "collection": "things",
            "at": expired,
            "owner": "a-writer-that-crashed",
            "lease_until": expired,
            "events": json.dumps({k: [e.model_dump(mode="json")] for k, e in events.items()}),
        }
    )
    await built.things.insert_many(
        [{"_id": "mine", BATCH_FIELD: "batch-1"}, {"_id": "theirs", BATCH_FIELD: "batch-0"}]
    )
    assert await built.relay.sweep_once() == 1
    assert await read_ids(topic_reader, settings, 1) == {events["mine"].id.encode()}
    assert await built.batches.collection.count_documents({}) == 0


class Crash(BaseException):
    """The writer's process dies: not an Exception, so nothing in the writer catches it."""


class Steps:
    """Counts the writer's steps against the database and broker and dies at step `crash_at`."""

    def __init__(self, crash_at: int | None) -> None:
        self.crash_at = crash_at
        self.taken = 0

    def step(self) -> None:
        self.taken += 1
        if self.taken == self.crash_at:
            raise Crash

    def wrap(self, target: Any, *methods: str) -> Any:
        steps = self

        class Dying:
            def __getattr__(self, name: str) -> Any:
                attribute = getattr(target, name)
                if name not in methods:
                    return attribute

                async def call(*args: Any, **kwargs: Any) -> Any:
                    steps.step()
                    return await attribute(*args, **kwargs)

                return call

        return Dying()


async def crash_during_insert(built: Stack, crash_at: int, ids: list[str]) -> dict[str, bytes]:
    """Insert `ids` through a writer that dies at step `crash_at`; their event ids."""
    steps = Steps(crash_at)
    batches = OutboxBatches(
        steps.wrap(built.batches.collection, "insert_one", "update_one", "delete_many"),
        lease=timedelta(0),  # the sweeper may take a batch the moment its writer is gone
        chunk_size=2,
    )
    relay = OutboxRelay(steps.wrap(built.publisher, "publish_many"), batches=batches)
    prepared = [({"_id": doc_id}, [counted(doc_id)]) for doc_id in ids]
    with contextlib.suppress(Crash):
        await relay.insert_many(steps.wrap(built.things, "insert_many"), prepared)
    return {doc["_id"]: events[0].id.encode() for doc, events in prepared}


async def test_a_writer_crashed_at_any_step_loses_no_event_and_sends_none_extra(
    stack, topic_reader
) -> None:
    """Crash the writer at each of its steps (open the batch, renew and insert each chunk,
    publish, forget), then sweep: the events on the topic are exactly those of the documents
    that were inserted (some twice on the wire, none missing), and no batch is left."""
    built, settings = stack
    steps_of_five = 1 + 3 * 2 + 1 + 1  # open, (renew, insert) x 3 chunks, publish, forget
    expected: set[bytes] = set()
    for crash_at in range(1, steps_of_five + 1):
        ids = [f"crash{crash_at}-{i}" for i in range(5)]
        event_ids = await crash_during_insert(built, crash_at, ids)
        await built.relay.sweep_once()
        present = {d["_id"] async for d in built.things.find({"_id": {"$in": ids}}, {"_id": 1})}
        assert present == set(ids[: len(present)]), "chunks land in order"
        expected |= {event_ids[doc_id] for doc_id in present}
    assert await built.batches.collection.count_documents({}) == 0
    reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))
    await reader.read_until(lambda r: {dict(x.headers)["ce_id"] for x in r} >= expected)
    published = {dict(r.headers)["ce_id"] for r in await reader.settle(1.0)}
    assert published == expected


async def test_a_batch_is_not_recovered_while_its_writer_holds_the_lease(stack) -> None:
    built, _settings = stack
    batches = OutboxBatches(built.batches.collection, lease=timedelta(minutes=5))
    relay = OutboxRelay(built.publisher, batches=batches)
    await batches._open(built.things, [({"_id": "slow"}, [counted("slow")])], owner="alive")
    assert await relay.sweep_once() == 0
    assert await built.batches.collection.count_documents({}) == 1


async def test_a_writer_whose_lease_was_taken_publishes_itself_and_goes_on_under_a_new_batch(
    stack, topic_reader
) -> None:
    """A writer stalled past its lease: the sweeper took the batch after its first chunk. The
    writer notices at its next renewal, sends the first chunk's events itself and opens a new
    batch for the rest; every event gets out."""
    built, settings = stack
    batches = OutboxBatches(built.batches.collection, lease=timedelta(0), chunk_size=1)
    relay = OutboxRelay(built.publisher, batches=batches)
    insert_many = built.things.insert_many
    calls = 0

    async def stalled_insert(documents: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        result = await insert_many(documents, **kwargs)
        if calls == 1:  # the writer stalls; a sweeper replica takes the expired batch
            taken = await batches.take_over_expired()
            assert len(taken) == 1
        return result

    class Target:
        name = built.things.name

        def __getattr__(self, name: str) -> Any:
            return getattr(built.things, name)

        insert_many = staticmethod(stalled_insert)

    events = {doc_id: counted(doc_id) for doc_id in ("first", "second")}
    inserted = await relay.insert_many(
        Target(), [({"_id": doc_id}, [event]) for doc_id, event in events.items()]
    )  # type: ignore[arg-type]
    assert [d["_id"] for d in inserted] == ["first", "second"]
    assert await read_ids(topic_reader, settings, 2) >= {e.id.encode() for e in events.values()}
    second = await built.things.find_one({"_id": "second"})
    first = await built.things.find_one({"_id": "first"})
    assert second[BATCH_FIELD] != first[BATCH_FIELD]  # the rest went under a batch of its own
