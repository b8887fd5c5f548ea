"""Timers fire exactly once with two replicas, and survive a restart."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.clock import ManualClock
from shared.events.catalogue import ReviewDue
from shared.events.envelope import Envelope, make_event
from shared.kafka import EventPublisher, ensure_topics, make_broker
from shared.mongo import make_mongo_client
from shared.outbox import OutboxRelay
from shared.timers import Scheduler, Timer, TimerStore
from shared.topics import Topic, topic_name

pytestmark = pytest.mark.integration


async def review_due(timer: dict[str, Any]) -> list[Envelope]:
    data = ReviewDue(
        case_id=timer["subject"],
        review_id=timer["_id"],
        review_point=timer["payload"]["point"],
        due_on=timer["due_at"].date(),
        notice="due",
    )
    return [make_event(data, source="tests", organisation="derby-homes", event_id=timer["_id"])]


async def test_two_replicas_fire_each_timer_once(make_settings, topic_reader) -> None:
    settings = make_settings("support")
    await ensure_topics(settings)
    clock = ManualClock()
    clients, brokers, schedulers = [], [], []
    for _ in range(2):  # two replicas of one service: same database, own connections
        client = make_mongo_client(settings)
        broker = make_broker(settings)
        await broker.connect()
        store = TimerStore(client[settings.database_name]["timers"])
        relay = OutboxRelay(EventPublisher(broker, settings))
        schedulers.append(Scheduler(store, clock, relay, {"review": review_due}))
        clients.append(client)
        brokers.append(broker)
    try:
        store = schedulers[0].store
        await store.ensure_indexes()
        start = clock.now()
        for n in range(20):
            await store.schedule(
                f"case-{n}:week12", start + timedelta(weeks=12), "review", f"case-{n}", point="w12"
            )
        assert sum([await s.fire_due() for s in schedulers]) == 0  # not due yet

        clock.advance(timedelta(weeks=12, minutes=1))
        counts = [await s.fire_due() for s in reversed(schedulers)]
        counts += [await s.fire_due() for s in schedulers]
        assert sum(counts) == 20

        # A "restarted" replica finds nothing left to fire; rescheduling a fired timer is a no-op.
        await store.schedule("case-0:week12", clock.now(), "review", "case-0", point="w12")
        assert await schedulers[1].fire_due() == 0

        reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))
        records = await reader.read_until(lambda r: len(r) >= 20)
        await reader.settle(1.0)
        assert len({dict(r.headers)["ce_id"] for r in records}) == 20
    finally:
        for broker in brokers:
            await broker.stop()
        for client in clients:
            await client.close()


async def test_schedule_many_creates_moves_and_leaves_fired_timers_alone(make_settings) -> None:
    settings = make_settings("timers")
    client = make_mongo_client(settings)
    store = TimerStore(client[settings.database_name]["timers"])
    clock = ManualClock()
    now = clock.now()
    try:
        await store.collection.insert_many(
            [
                {"_id": "moved", "due_at": now, "kind": "k", "subject": "s", "fired": False},
                {"_id": "fired", "due_at": now, "kind": "k", "subject": "s", "fired": True},
            ]
        )
        later = now + timedelta(days=3)
        await store.schedule_many(
            [Timer(timer_id, later, "k", "s", {"n": 1}) for timer_id in ("new", "moved", "fired")]
        )
        timers = {t["_id"]: t async for t in store.collection.find({})}
        assert timers["new"]["fired"] is False and timers["new"]["payload"] == {"n": 1}
        assert timers["moved"]["due_at"] == later and timers["moved"]["fired"] is False
        assert timers["fired"]["due_at"] == now  # fired: left alone, without an error
    finally:
        await client.drop_database(settings.database_name)
        await client.close()
