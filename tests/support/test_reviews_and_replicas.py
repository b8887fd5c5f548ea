"""CaseAllocated opens a case; reviews come due by themselves, once, with two replicas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.support.app import build_service
from services.support.store import TIMERS
from shared.clock import ManualClock
from shared.codes import Route
from shared.kafka import ensure_topics
from shared.topics import Topic, topic_name
from tests.helpers import publish, wait_for
from tests.support.helpers import allocated, count_of, events_of

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def test_review_due_once_per_review_point_with_two_replicas(
    make_settings, topic_reader
) -> None:
    settings = make_settings("support")
    await ensure_topics(settings)
    clock = ManualClock(START)
    replicas = [build_service(settings, clock) for _ in range(2)]
    for runtime, _ in replicas:
        await runtime.start()
    try:
        first = allocated("case-1", START)
        await publish(
            settings,
            first,
            first,  # redelivered: no second case
            allocated("case-r", START, route=Route.RECONNECTION),  # not ours
        )
        store = replicas[1][1].store
        case = await wait_for(lambda: store.get("case-1"))
        assert case["stage"] == "stage_1" and case["next_review_on"] == "2026-03-30"
        timers = replicas[1][0].db[TIMERS]

        async def both_notices_scheduled() -> bool:
            return await timers.count_documents({"subject": "case-1"}) == 2

        await wait_for(both_notices_scheduled)
        assert await store.get("case-r") is None
        # Timers lost between the case write and the scheduling come back at the next start.
        await timers.delete_many({"subject": "case-1"})
        await replicas[1][1].timers.reconcile()
        assert await timers.count_documents({"subject": "case-1", "fired": False}) == 2

        schedulers = [runtime.schedulers[0] for runtime, _ in replicas]
        assert sum([await s.fire_due() for s in schedulers]) == 0  # nothing due yet

        reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))
        clock.set(datetime(2026, 3, 23, 0, 1, tzinfo=UTC))  # 7 days before the review
        for s in schedulers:
            await s.fire_due()
        await reader.read_until(count_of("ReviewDue", 1))
        clock.set(datetime(2026, 3, 30, 8, 0, tzinfo=UTC))  # the day of the review
        for s in reversed(schedulers):
            await s.fire_due()
        await reader.read_until(count_of("ReviewDue", 2))

        # A restarted replica on the same database finds nothing left to fire.
        await replicas[0][0].stop()
        restarted = build_service(settings, clock)
        replicas[0] = restarted
        await restarted[0].start()
        assert await restarted[0].schedulers[0].fire_due() == 0
        clock.advance(timedelta(days=30))
        assert sum([await runtime.schedulers[0].fire_due() for runtime, _ in replicas]) == 0

        await reader.settle(1.0)
        due = {e.id: e for e in events_of(reader.records, "ReviewDue")}
        assert sorted(e.data["notice"] for e in due.values()) == ["due", "reminder"]
        for envelope in due.values():
            assert envelope.data["review_point"] == "stage_1_week_12"
            assert envelope.data["due_on"] == "2026-03-30"
            assert envelope.data["lead_worker_id"] == "worker-1"
            assert envelope.organisation == "derby-homes"
            assert envelope.correlationid == first.correlationid
        assert len(await store.cases.find({}).to_list()) == 1
    finally:
        for runtime, _ in replicas:
            await runtime.stop()
