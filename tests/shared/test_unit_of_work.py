"""The shared unit of work against the real database and broker: typed models in, one write
per document with its inbox mark and its events, one relay publishing, conflicts told apart
from repeats, and batches written in bulk."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel

from shared.kafka import EventPublisher, ensure_topics, make_broker
from shared.mongo import make_mongo_client
from shared.outbox import OUTBOX, PENDING, OutboxRelay, outbox_update
from shared.outbox_batches import OutboxBatches
from shared.repository import Repository
from shared.topics import Topic, topic_name
from shared.unit_of_work import ConcurrentUpdate, UnitOfWork, attempt
from tests.shared.test_spine import counted

pytestmark = pytest.mark.integration


class Tally(BaseModel):
    tally_id: str
    total: int = 0
    opened_on: date = date(2026, 11, 30)


class Built:
    def __init__(self, settings: Any) -> None:
        self.client = make_mongo_client(settings)
        self.db = self.client[settings.database_name]
        self.broker = make_broker(settings)
        self.relay = OutboxRelay(
            EventPublisher(self.broker, settings),
            batches=OutboxBatches(self.db["outbox_batches"]),
        )
        self.tallies = Repository(self.db["tallies"], Tally, "tally_id")

    async def close(self) -> None:
        await self.broker.stop()
        await self.client.drop_database(self.db.name)
        await self.client.close()


@pytest.fixture
async def built(make_settings) -> Any:
    settings = make_settings("uow")
    await ensure_topics(settings)
    stack = Built(settings)
    await stack.broker.connect()
    yield stack, settings
    await stack.close()


async def published(topic_reader, settings: Any, n: int) -> list[bytes]:
    reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))
    await reader.read_until(lambda r: len(r) >= n)
    return [dict(r.headers)["ce_id"] for r in await reader.settle(0.5)]


async def test_a_new_model_is_stored_typed_with_its_event_and_a_repeat_is_skipped(
    built, topic_reader
) -> None:
    stack, settings = built
    event = counted("t1")
    uow = UnitOfWork(stack.relay)
    uow.add(stack.tallies, Tally(tally_id="t1", total=3), [event])
    assert (await uow.commit()).written == {"t1"}
    again = UnitOfWork(stack.relay)
    again.add(stack.tallies, Tally(tally_id="t1", total=99), [counted("t1")])
    assert (await again.commit()).existing == {"t1"}

    loaded = await stack.tallies.get("t1")
    assert loaded is not None
    assert loaded.model == Tally(tally_id="t1", total=3)  # the date came back a date
    assert loaded.version == 1
    raw = await stack.tallies.collection.find_one({"_id": "t1"})
    assert raw["opened_on"] == "2026-11-30" and not raw.get(PENDING)
    assert await published(topic_reader, settings, 1) == [event.id.encode()]


async def test_a_stale_save_is_a_conflict_and_a_repeated_event_a_repeat(built) -> None:
    stack, _settings = built
    uow = UnitOfWork(stack.relay)
    uow.add(stack.tallies, Tally(tally_id="t2"))
    await uow.commit()
    loaded = await stack.tallies.get("t2")
    assert loaded is not None

    first = UnitOfWork(stack.relay)
    first.save(stack.tallies, loaded, Tally(tally_id="t2", total=1), event_id="e-1")
    assert (await first.commit()).written == {"t2"}
    stale = UnitOfWork(stack.relay)
    stale.save(stack.tallies, loaded, Tally(tally_id="t2", total=5), event_id="e-2")
    assert (await stale.commit()).conflicts == {"t2"}
    fresh = await stack.tallies.get("t2")
    assert fresh is not None
    repeat = UnitOfWork(stack.relay)
    repeat.save(stack.tallies, fresh, Tally(tally_id="t2", total=2), event_id="e-1")
    assert (await repeat.commit()).repeats == {"t2"}
    final = await stack.tallies.get("t2")
    assert final is not None and final.model.total == 1 and final.inbox == {"e-1"}


async def test_a_batch_is_written_in_bulk_one_stale_document_apart(built, topic_reader) -> None:
    stack, settings = built
    ids = [f"b{i:02d}" for i in range(40)]
    uow = UnitOfWork(stack.relay)
    for tally_id in ids:
        uow.add(stack.tallies, Tally(tally_id=tally_id))
    assert (await uow.commit()).written == set(ids)  # through one leased outbox batch
    loaded = await stack.tallies.get_many(ids)
    bump = UnitOfWork(stack.relay)
    bump.change(stack.tallies, "b07", {"$inc": {"total": 10}})  # b07 moves on meanwhile
    await bump.commit()

    events = {tally_id: counted(tally_id) for tally_id in ids}
    batch = UnitOfWork(stack.relay)
    for tally_id in ids:
        model = loaded[tally_id].model.model_copy(update={"total": 1})
        batch.save(
            stack.tallies, loaded[tally_id], model, [events[tally_id]], event_id=f"x-{tally_id}"
        )
    committed = await batch.commit()
    assert committed.conflicts == {"b07"}
    assert committed.written == set(ids) - {"b07"}
    sent = await published(topic_reader, settings, len(ids) - 1)
    assert sorted(sent) == sorted(events[i].id.encode() for i in ids if i != "b07")
    left = await stack.tallies.collection.count_documents({PENDING: True})
    assert left == 0, "every outbox cleared after publishing"
    assert (await stack.tallies.collection.find_one({"_id": "b01"}))[OUTBOX] == {}


async def test_racing_writers_both_land_through_attempt(built) -> None:
    stack, _settings = built
    uow = UnitOfWork(stack.relay)
    uow.add(stack.tallies, Tally(tally_id="race"))
    await uow.commit()

    async def add_one(unit: UnitOfWork) -> None:
        loaded = await stack.tallies.get("race")
        assert loaded is not None
        await asyncio.sleep(0.01)  # both read before either writes
        unit.save(
            stack.tallies, loaded, loaded.model.model_copy(update={"total": loaded.model.total + 1})
        )

    await asyncio.gather(*(attempt(stack.relay, add_one) for _ in range(5)))
    final = await stack.tallies.get("race")
    assert final is not None and final.model.total == 5 and final.version == 6


async def test_attempt_gives_up_with_a_conflict_naming_the_field(built) -> None:
    stack, _settings = built
    uow = UnitOfWork(stack.relay)
    uow.add(stack.tallies, Tally(tally_id="busy"))
    await uow.commit()

    async def always_stale(unit: UnitOfWork) -> None:
        loaded = await stack.tallies.get("busy")
        assert loaded is not None
        meddle = UnitOfWork(stack.relay)
        meddle.change(stack.tallies, "busy", {"$inc": {"total": 1}})
        await meddle.commit()
        unit.save(stack.tallies, loaded, loaded.model)

    with pytest.raises(ConcurrentUpdate, match="changed concurrently"):
        await attempt(stack.relay, always_stale, attempts=3)


async def test_upserts_in_bulk_create_what_is_missing_and_update_the_rest_once(
    built, topic_reader
) -> None:
    """The arrears shape: a poll touches tenancies some of which exist; each change applies once
    per event, new ones are inserted as the same state, and every event goes out once."""
    stack, settings = built
    seed = UnitOfWork(stack.relay)
    seed.add(stack.tallies, Tally(tally_id="u-old", total=5))
    await seed.commit()

    def poll() -> tuple[UnitOfWork, list[Any]]:
        uow = UnitOfWork(stack.relay)
        events = []
        for tally_id in ("u-old", "u-new", "u-new"):
            event = counted(tally_id)
            events.append(event)
            uow.upsert(
                stack.tallies,
                tally_id,
                {"$inc": {"total": 1}},
                {"tally_id": tally_id, "total": 1, "opened_on": "2026-11-30"},
                [event],
                event_id=f"alert-{tally_id}-{len(events)}",
            )
        return uow, events

    uow, events = poll()
    committed = await uow.commit()
    assert committed.written == {"u-old", "u-new"}
    again, _ = poll()  # the same poll redelivered: same event ids
    assert (await again.commit()).repeats == {"u-old", "u-new"}
    totals = {
        t: (await stack.tallies.get(t)).model.total  # type: ignore[union-attr]
        for t in ("u-old", "u-new")
    }
    assert totals == {"u-old": 6, "u-new": 2}
    sent = await published(topic_reader, settings, 3)
    assert sorted(sent) == sorted(e.id.encode() for e in events)


@pytest.mark.parametrize("how", ["save", "change", "bulk-change"])
async def test_events_a_failed_publish_left_queued_go_out_with_the_next_write(
    built, topic_reader, how: str
) -> None:
    """A write that empties an outbox must first send everything in it, not only its own."""
    stack, settings = built
    seed = UnitOfWork(stack.relay)
    seed.add(stack.tallies, Tally(tally_id="left"))
    seed.add(stack.tallies, Tally(tally_id="other"))
    await seed.commit()
    leftover = counted("left")
    # What a write whose publish failed leaves: the event queued in the outbox.
    await stack.tallies.collection.update_one({"_id": "left"}, outbox_update([leftover]))
    mine = counted("left")
    uow = UnitOfWork(stack.relay)
    if how == "save":
        loaded = await stack.tallies.get("left")
        assert loaded is not None and [e.id for e in loaded.pending] == [leftover.id]
        uow.save(stack.tallies, loaded, loaded.model, [mine], event_id="e-save")
    else:
        uow.change(stack.tallies, "left", {"$inc": {"total": 1}}, [mine], event_id="e-chg")
        if how == "bulk-change":
            uow.change(stack.tallies, "other", {"$inc": {"total": 1}}, event_id="e-other")
    assert "left" in (await uow.commit()).written
    sent = await published(topic_reader, settings, 2)
    assert {leftover.id.encode(), mine.id.encode()} <= set(sent)
    assert (await stack.tallies.collection.find_one({"_id": "left"}))[OUTBOX] == {}
