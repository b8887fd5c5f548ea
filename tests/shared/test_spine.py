"""The shared spine against the real broker and database: idempotency, outbox, DLQ, restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from shared.events.envelope import make_event
from shared.kafka import EventPublisher, ensure_topics, make_broker
from shared.mongo import make_mongo_client
from shared.outbox import OutboxRelay
from shared.repository import RawDocuments
from shared.settings import HearthSettings
from shared.topics import Topic, dlq_topic_name, topic_name
from shared.unit_of_work import UnitOfWork
from tests.shared.probe_service import ProbeCounted, ProbeTallied, build_probe

pytestmark = pytest.mark.integration


def counted(case_id: str, amount: int = 1, fail_times: int = 0, transient_times: int = 0) -> Any:
    return make_event(
        ProbeCounted(
            case_id=case_id, amount=amount, fail_times=fail_times, transient_times=transient_times
        ),
        source="tests",
        organisation="derby-homes",
    )


async def publish(settings: HearthSettings, *envelopes: Any, raw: list[Any] | None = None) -> None:
    broker = make_broker(settings)
    await broker.connect()
    try:
        await EventPublisher(broker, settings).publish_many(envelopes)
        for value, headers in raw or []:
            await broker.publish(
                value,
                topic=topic_name(Topic.CASE_EVENTS, settings.topic_prefix),
                key=b"poison",
                headers=headers,
            )
    finally:
        await broker.stop()


async def wait_for(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def tally(settings: HearthSettings, case_id: str) -> dict[str, Any] | None:
    client = make_mongo_client(settings)
    try:
        return await client[settings.database_name]["tallies"].find_one({"_id": case_id})
    finally:
        await client.close()


async def test_redelivered_event_changes_nothing(make_settings, topic_reader) -> None:
    settings = make_settings("probe")
    await ensure_topics(settings)
    event = counted("case-a", amount=5)
    await publish(settings, event, event, event)  # the same event id, three times
    runtime = build_probe(settings)
    await runtime.start()
    try:
        reader = await topic_reader(topic_name(Topic.REFERRAL_EVENTS, settings.topic_prefix))
        await reader.read_until(lambda r: len(r) >= 1)
        await reader.settle(1.5)
        doc = await tally(settings, "case-a")
        assert doc is not None and doc["total"] == 5 and doc["events"] == 1
        # The follow-on event was published (at least once, always with one id).
        assert len({dict(r.headers)["ce_id"] for r in reader.records}) == 1
    finally:
        await runtime.stop()


async def test_poison_message_goes_to_dlq_with_reason_and_stream_moves_on(
    make_settings, topic_reader
) -> None:
    settings = make_settings("probe", handler_retries=3)
    await ensure_topics(settings, [dlq_topic_name("probe", settings.topic_prefix)])
    await publish(settings, counted("before"), raw=[(b"\x00garbage", {"ce_id": "x"})])
    await publish(settings, counted("keeps-failing", fail_times=99), counted("after"))
    runtime = build_probe(settings)
    await runtime.start()
    try:
        dlq = await topic_reader(dlq_topic_name("probe", settings.topic_prefix))
        records = await dlq.read_until(lambda r: len(r) >= 2)
        headers = [{k: v.decode() for k, v in r.headers} for r in records]
        reasons = {h["hearth_dlq_error_type"]: h for h in headers}
        assert "ce_specversion" in reasons["EnvelopeError"]["hearth_dlq_reason"]
        assert reasons["RuntimeError"]["hearth_dlq_attempts"] == "3"
        assert reasons["RuntimeError"]["hearth_dlq_group"] == f"{settings.topic_prefix}probe"
        assert await wait_for(lambda: tally(settings, "after"))
        assert await tally(settings, "before")
        assert await tally(settings, "keeps-failing") is None
    finally:
        await runtime.stop()


async def test_transient_failure_is_retried_not_dead_lettered(make_settings) -> None:
    settings = make_settings("probe", handler_retries=3)
    await publish(settings, counted("flaky", fail_times=2))
    runtime = build_probe(settings)
    await runtime.start()
    try:
        doc = await wait_for(lambda: tally(settings, "flaky"))
        assert doc["events"] == 1
    finally:
        await runtime.stop()


async def test_a_transient_database_error_is_waited_out_never_dead_lettered(
    make_settings, topic_reader
) -> None:
    """More transient errors than the handler's retries: still handled once, nothing in the
    dead-letter topic (before, a busy database dead-lettered the event after ~0.6 s)."""
    settings = make_settings("probe", handler_retries=2)
    await ensure_topics(settings, extra=[dlq_topic_name("probe", settings.topic_prefix)])
    await publish(settings, counted("busy", transient_times=4))
    runtime = build_probe(settings)
    await runtime.start()
    try:
        doc = await wait_for(lambda: tally(settings, "busy"))
        assert doc["events"] == 1
        assert runtime.attempts[next(iter(runtime.attempts))] == 5  # type: ignore[attr-defined]
    finally:
        await runtime.stop()
    dlq = await topic_reader(dlq_topic_name("probe", settings.topic_prefix))
    assert await dlq.settle(1.0) == []


async def test_consumer_restarted_mid_stream_loses_nothing(make_settings) -> None:
    settings = make_settings("probe", consumer_batch_size=20)
    total = 300
    await publish(settings, *[counted(f"case-{i % 30}") for i in range(total)])

    async def handled() -> int:
        client = make_mongo_client(settings)
        try:
            docs = await client[settings.database_name]["tallies"].find().to_list()
            return sum(d["events"] for d in docs)
        finally:
            await client.close()

    first = build_probe(settings)
    await first.start()
    await wait_for(lambda: _at_least(handled, 40))
    await first.stop()  # stopped mid-stream
    stopped_at = await handled()
    assert stopped_at < total
    second = build_probe(settings)
    await second.start()
    try:
        await wait_for(lambda: _at_least(handled, total))
        await asyncio.sleep(1.0)
        assert await handled() == total
    finally:
        await second.stop()


async def _at_least(count: Callable[[], Any], n: int) -> bool:
    return await count() >= n


async def test_relay_killed_between_publish_and_removal_yields_one_effect(
    make_settings, topic_reader
) -> None:
    """The relay publishes, then dies before removing the events; the sweeper republishes.
    Downstream (the probe's inbox) still applies the event exactly once."""
    upstream = make_settings("upstream")
    downstream = make_settings("probe")
    await ensure_topics(upstream)
    client = make_mongo_client(upstream)
    broker = make_broker(upstream)
    await broker.connect()
    relay = OutboxRelay(EventPublisher(broker, upstream))
    outbox_owner = client[upstream.database_name]["cases"]
    relay.watch(outbox_owner)
    try:
        event = counted("case-x", amount=7)

        class Crash(Exception):
            pass

        original = outbox_owner.update_many

        async def crash_on_removal(*args: Any, **kwargs: Any) -> Any:
            raise Crash

        outbox_owner.update_many = crash_on_removal  # type: ignore[method-assign]
        uow = UnitOfWork(relay)
        uow.upsert(RawDocuments(outbox_owner), "case-x", {"$set": {"status": "open"}},
                   {"status": "open"}, [event])  # fmt: skip
        await uow.commit()  # written and published; the removal "crashed"
        outbox_owner.update_many = original  # type: ignore[method-assign]
        relay.grace = relay.grace * 0  # the "restarted" relay sweeps at once
        assert await relay.sweep_once() == 1  # republished
        assert await relay.sweep_once() == 0  # and now removed

        reader = await topic_reader(topic_name(Topic.CASE_EVENTS, upstream.topic_prefix))
        await reader.read_until(lambda r: len(r) >= 2)
        assert {dict(r.headers)["ce_id"] for r in reader.records} == {event.id.encode()}

        runtime = build_probe(downstream.model_copy(update={"topic_prefix": upstream.topic_prefix}))
        await runtime.start()
        try:
            doc = await wait_for(lambda: tally(runtime.settings, "case-x"))
            await asyncio.sleep(1.0)
            doc = await tally(runtime.settings, "case-x")
            assert doc is not None and doc["total"] == 7 and doc["events"] == 1
        finally:
            await runtime.stop()
    finally:
        await broker.stop()
        await client.close()


async def test_follow_on_events_are_published_through_the_outbox(make_settings, topic_reader):
    settings = make_settings("probe")
    await publish(settings, counted("case-o", amount=2))
    runtime = build_probe(settings)
    await runtime.start()
    try:
        reader = await topic_reader(topic_name(ProbeTallied.TOPIC, settings.topic_prefix))
        records = await reader.read_until(lambda r: len(r) >= 1)
        assert records[0].key == b"case-o"

        async def drained() -> bool:
            doc = await tally(settings, "case-o")
            return doc is not None and doc.get("_outbox") == {} and not doc["_outbox_pending"]

        assert await wait_for(drained)
    finally:
        await runtime.stop()
