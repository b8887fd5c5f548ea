"""Lanes against the real broker and database: a person's event is handled while a batch is
stuck, every record is handled once by the group of its lane in its key's order, and what
cannot travel a lane is refused (dead-lettered, never handled)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date
from typing import Any

import pytest

from shared.broker_access import ingress_topic
from shared.events.catalogue import ReviewDue
from shared.events.envelope import Envelope, follow_on, make_event, to_kafka
from shared.events.referral_intake import ReferralSubmission, ReferralSubmitted
from shared.kafka import ensure_topics, make_broker
from shared.lanes import Lane, current_lane
from shared.runtime import ServiceRuntime
from shared.settings import HearthSettings
from shared.topics import Topic, dlq_topic_name, topic_name
from tests.referral.factories import referral_json
from tests.shared.test_spine import wait_for

pytestmark = pytest.mark.integration

PARTNER = "derby-homes"


def review_due(case_id: str, lane: Lane, n: int = 0) -> Envelope:
    data = ReviewDue(
        case_id=case_id,
        review_id=f"r-{case_id}-{n}",
        review_point="stage_1_week_12",
        due_on=date(2026, 12, 1),
        notice="due",
    )
    return make_event(data, source="tests", organisation="derby-council", lane=lane)


async def write(
    settings: HearthSettings, topic: str, envelopes: list[Envelope], **header_changes: str
) -> None:
    """Raw records on `topic`, whatever topic their type travels on."""
    broker = make_broker(settings)
    await broker.connect()
    try:
        for envelope in envelopes:
            key, value, headers = to_kafka(envelope)
            await broker.publish(value, topic=topic, key=key, headers={**headers, **header_changes})
    finally:
        await broker.stop()


def reasons(records: list[Any]) -> list[str]:
    return [dict(r.headers)["hearth_dlq_reason"].decode() for r in records]


async def test_a_type_on_the_bulk_lane_of_another_topic_is_refused(
    make_settings, topic_reader
) -> None:
    settings = make_settings("lanes")
    await ensure_topics(settings, [dlq_topic_name("lanes", settings.topic_prefix)])
    runtime = ServiceRuntime(settings, configure_logs=False)
    consumer = runtime.consumer([Topic.REFERRAL_EVENTS, Topic.CASE_EVENTS])
    handled: list[str] = []

    @consumer.on(ReviewDue)
    async def handle(envelope: Envelope, data: ReviewDue) -> None:
        handled.append(data.case_id)

    prefix = settings.topic_prefix
    smuggled = review_due("smuggled", Lane.BULK)
    await write(settings, topic_name(Topic.REFERRAL_EVENTS, prefix), [smuggled])
    await write(settings, topic_name(Topic.CASE_EVENTS, prefix), [review_due("ok", Lane.BULK)])
    await runtime.start()
    try:
        dlq = await topic_reader(dlq_topic_name("lanes", prefix))
        await dlq.read_until(lambda r: len(r) >= 1)
        await wait_for(lambda: _true(handled))
        await dlq.settle(1.0)
    finally:
        await runtime.stop()
    assert handled == ["ok"]
    assert reasons(dlq.records) == ["type: ReviewDue does not travel on this topic"]
    assert dict(dlq.records[0].headers)["hearth_dlq_group"] == f"{prefix}lanes".encode()


async def test_an_unknown_lane_is_refused_once_naming_the_field(
    make_settings, topic_reader
) -> None:
    settings = make_settings("lanes")
    await ensure_topics(settings, [dlq_topic_name("lanes", settings.topic_prefix)])
    runtime = ServiceRuntime(settings, configure_logs=False)
    consumer = runtime.consumer([Topic.CASE_EVENTS])
    handled: list[str] = []

    @consumer.on(ReviewDue)
    async def handle(envelope: Envelope, data: ReviewDue) -> None:
        handled.append(data.case_id)

    case_events = topic_name(Topic.CASE_EVENTS, settings.topic_prefix)
    await write(settings, case_events, [review_due("express", Lane.BULK)], ce_lane="express")
    await write(settings, case_events, [review_due("after", Lane.INTERACTIVE)])
    await runtime.start()
    try:
        dlq = await topic_reader(dlq_topic_name("lanes", settings.topic_prefix))
        await dlq.read_until(lambda r: len(r) >= 1)
        await wait_for(lambda: _true(handled))
        await dlq.settle(1.5)  # neither lane's group dead-letters it a second time
    finally:
        await runtime.stop()
    assert handled == ["after"]
    assert len(dlq.records) == 1
    assert reasons(dlq.records)[0].startswith("ce_lane: unknown lane 'express'")


async def test_a_partners_ingress_cannot_put_its_records_on_the_bulk_lane(
    make_settings,
) -> None:
    """A partner marks its referral bulk: it is handled as interactive, and so is what it
    causes; a partner's header decides no lane, as it decides no organisation."""
    settings = make_settings("lanes", partner_organisations=[PARTNER])
    await ensure_topics(settings, [dlq_topic_name("lanes", settings.topic_prefix)])
    runtime = ServiceRuntime(settings, configure_logs=False)
    consumer = runtime.consumer([Topic.REFERRAL_INTAKE])
    seen: list[tuple[Lane, Lane, Lane]] = []

    @consumer.on(ReferralSubmitted)
    async def handle(envelope: Envelope, data: ReferralSubmitted) -> None:
        caused = follow_on(envelope, data, source="tests")
        seen.append((envelope.lane, current_lane(), caused.lane))

    submitted = make_event(
        ReferralSubmitted(
            referral_id="partner-ref-1",
            submission=ReferralSubmission.model_validate(referral_json()),
        ),
        source="partner-system",
        organisation=PARTNER,
        lane=Lane.BULK,
    )
    topic = ingress_topic(Topic.REFERRAL_INTAKE, PARTNER, settings.topic_prefix)
    await write(settings, topic, [submitted])
    await runtime.start()
    try:
        await wait_for(lambda: _true(seen))
    finally:
        await runtime.stop()
    assert seen == [(Lane.INTERACTIVE, Lane.INTERACTIVE, Lane.INTERACTIVE)]


async def test_a_persons_event_is_handled_while_a_batch_is_stuck(make_settings) -> None:
    """Bulk events wait on a gate; a person's event published after them is handled at once.
    Then every event is handled exactly once, each key's in its order, and what each handler
    made travels its cause's lane."""
    settings = make_settings("lanes")
    await ensure_topics(settings, [dlq_topic_name("lanes", settings.topic_prefix)])
    runtime = ServiceRuntime(settings, configure_logs=False)
    consumer = runtime.consumer([Topic.CASE_EVENTS])
    gate = asyncio.Event()
    handled: dict[str, list[str]] = defaultdict(list)
    made: list[tuple[Lane, Lane]] = []

    @consumer.on(ReviewDue)
    async def handle(envelope: Envelope, data: ReviewDue) -> None:
        if envelope.lane is Lane.BULK:
            await gate.wait()
        made.append((envelope.lane, review_due(f"made-{data.case_id}", current_lane()).lane))
        handled[data.case_id].append(data.review_id)

    batch = [review_due(f"bulk-{i % 10}", Lane.BULK, n=i) for i in range(200)]
    person = review_due("person", Lane.INTERACTIVE)
    case_events = topic_name(Topic.CASE_EVENTS, settings.topic_prefix)
    await write(settings, case_events, [*batch, person])
    await runtime.start()
    try:
        await wait_for(lambda: _true(handled.get("person")), timeout=20)
        assert sum(len(v) for v in handled.values()) == 1, "no bulk event was let through"
        gate.set()
        await wait_for(lambda: _true(sum(len(v) for v in handled.values()) >= 201))
        await asyncio.sleep(1.0)  # nothing is handled a second time
    finally:
        await runtime.stop()
    assert sum(len(v) for v in handled.values()) == 201
    for case in range(10):
        wanted = [f"r-bulk-{case}-{i}" for i in range(case, 200, 10)]
        assert handled[f"bulk-{case}"] == wanted, "each key's events in the order sent"
    assert all(cause == lane for cause, lane in made)
    assert (Lane.BULK, Lane.BULK) in made and (Lane.INTERACTIVE, Lane.INTERACTIVE) in made


async def _true(value: Any) -> bool:
    return bool(value)
