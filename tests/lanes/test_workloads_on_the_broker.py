"""A service split in two against the real broker and database: its interactive process and
its bulk process (here two runtimes of one service, as `tests/allocation` runs replicas) each
handle their own lane's events, every event exactly once, and the landlords' feed is read by
the bulk process only; one `all` process reads all of it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shared.events.catalogue import ReviewDue
from shared.events.envelope import Envelope, make_event
from shared.events.referral_events import ArrearsAlertSubmitted
from shared.kafka import ensure_topics
from shared.lanes import Lane, Workload
from shared.runtime import ServiceRuntime
from shared.settings import HearthSettings
from shared.topics import Topic, dlq_topic_name
from tests.helpers import publish
from tests.lanes.test_lane_rules import review_due
from tests.shared.test_spine import wait_for

pytestmark = pytest.mark.integration

FEED = "lanes-feed"
Seen = list[tuple[Workload, str]]


def alert(reference: str) -> Envelope:
    data = ArrearsAlertSubmitted(
        tenancy_reference=reference,
        arrears_balance=1450.0,
        weekly_rent=110.0,
        weeks_in_arrears=13,
        trend="worsening",
    )
    return make_event(data, source="tests", organisation="derby-homes")


def process(settings: HearthSettings, workload: Workload, seen: Seen) -> ServiceRuntime:
    """One process of the service: a laned consumer and the feed's consumer, as the referral
    service has them, recording which process handled what."""
    runtime = ServiceRuntime(
        settings.model_copy(update={"workload": workload}), configure_logs=False
    )
    cases = runtime.consumer([Topic.CASE_EVENTS, Topic.AGREEMENTS])
    feed = runtime.consumer([Topic.ARREARS_ALERTS, Topic.CASE_EVENTS], FEED, bulk_source=True)

    @cases.on(ReviewDue)
    async def review(envelope: Envelope, data: ReviewDue) -> None:
        seen.append((workload, data.case_id))

    @feed.on(ArrearsAlertSubmitted)
    async def alerted(envelope: Envelope, data: ArrearsAlertSubmitted) -> None:
        seen.append((workload, data.tenancy_reference))

    return runtime


async def prepared(make_settings: Any) -> HearthSettings:
    settings = make_settings("lanes")
    extra = [dlq_topic_name(group, settings.topic_prefix) for group in ("lanes", FEED)]
    await ensure_topics(settings, extra)
    return settings


async def run_until(runtimes: list[ServiceRuntime], seen: Seen, count: int) -> None:
    for runtime in runtimes:
        await runtime.start(background_loops=False)
    try:
        await wait_for(lambda: _at_least(seen, count), timeout=40)
        await asyncio.sleep(2.0)  # nothing is handled a second time, by either process
    finally:
        for runtime in runtimes:
            await runtime.stop()


async def test_a_split_service_handles_each_lane_in_its_own_process_once(make_settings) -> None:
    settings = await prepared(make_settings)
    seen: Seen = []
    await publish(
        settings,
        review_due("person", Lane.INTERACTIVE),
        review_due("batch", Lane.BULK),
        alert("feed-1"),
    )
    split = [process(settings, w, seen) for w in (Workload.INTERACTIVE, Workload.BULK)]
    await run_until(split, seen, 3)
    assert sorted(seen) == sorted(
        [(Workload.INTERACTIVE, "person"), (Workload.BULK, "batch"), (Workload.BULK, "feed-1")]
    )


async def test_an_interactive_process_alone_leaves_the_bulk_lane_and_the_feed_waiting(
    make_settings,
) -> None:
    """Nothing is lost while the bulk process is away: its groups read it when it comes."""
    settings = await prepared(make_settings)
    seen: Seen = []
    await publish(
        settings,
        *[review_due("batch", Lane.BULK), alert("feed-2"), review_due("person", Lane.INTERACTIVE)],
    )
    await run_until([process(settings, Workload.INTERACTIVE, seen)], seen, 1)
    assert seen == [(Workload.INTERACTIVE, "person")]
    await run_until([process(settings, Workload.BULK, seen)], seen, 3)
    assert sorted(seen[1:]) == [(Workload.BULK, "batch"), (Workload.BULK, "feed-2")]


async def test_one_process_of_all_reads_every_lane_and_the_feed(make_settings) -> None:
    settings = await prepared(make_settings)
    seen: Seen = []
    await publish(
        settings,
        *[review_due("person", Lane.INTERACTIVE), review_due("batch", Lane.BULK), alert("feed-3")],
    )
    await run_until([process(settings, Workload.ALL, seen)], seen, 3)
    assert sorted(seen) == [
        (Workload.ALL, "batch"),
        (Workload.ALL, "feed-3"),
        (Workload.ALL, "person"),
    ]


async def _at_least(seen: Seen, count: int) -> bool:
    return len(seen) >= count
