"""Importing generated history through the real broker into a running outcomes consumer: every
generated event becomes one fact, the history topic is the only one written (no other
service could act on invented events), and importing it again changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.outcomes.app import OutcomesRuntime, build_runtime
from services.outcomes.history_generator import OrganisationPlan
from services.outcomes.import_history import history_records, publish_history
from shared.kafka import settings_security
from shared.settings import HearthSettings
from shared.topics import Topic, all_topic_names, dlq_topic_name, topic_name
from tests.helpers import wait_for

PLANS = (
    OrganisationPlan("demo-council", referrals_per_month=12, landlord="demo-homes"),
    OrganisationPlan("other-council", referrals_per_month=8),
)


@pytest.fixture
async def outcomes(
    make_settings: Callable[..., HearthSettings],
) -> AsyncIterator[OutcomesRuntime]:
    runtime = build_runtime(make_settings("outcomes"))
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.mongo.drop_database(runtime.settings.database_name)
        await runtime.stop()


async def test_two_months_of_history_become_facts_and_nothing_else_hears_of_it(
    outcomes: OutcomesRuntime,
) -> None:
    settings = outcomes.settings
    events, records = history_records(
        PLANS, end=date(2026, 11, 1), months=2, seed=3, at=datetime.now(UTC)
    )
    assert len(records) == 3 and len(events) > 200  # one record per organisation
    await publish_history(settings, records)

    async def recorded() -> bool:
        return await outcomes.store.caught_up(len(events))

    await wait_for(recorded, timeout=90, interval=0.5)
    cases = {e.subject for e in events if e.short_type == "ReferralReceived"}
    assert await outcomes.store.rollups["case"].count_documents({}) >= len(cases)
    stored = {d["_id"] async for d in outcomes.store.facts.find({}, {"_id": 1})}
    assert stored == {e.id for e in events}  # fact id = the inner event's id

    # Nothing went anywhere but the history topic (nor to the consumer's dead letters).
    prefix = settings.topic_prefix
    history = topic_name(Topic.OUTCOMES_HISTORY, prefix)
    names = [*all_topic_names(prefix), dlq_topic_name("outcomes", prefix)]
    counts = await records_in(settings, names)
    assert counts.pop(history) == len(records)
    assert counts == dict.fromkeys(counts, 0)

    # The same import again: the same records, the same facts.
    await publish_history(settings, records)
    await wait_for(lambda: _caught_up(outcomes, 2 * len(records)), timeout=60, interval=0.5)
    assert await outcomes.store.fact_count() == len(events)


async def records_in(settings: HearthSettings, names: list[str]) -> dict[str, int]:
    """How many records each topic holds (its partitions' end offsets: nothing is deleted)."""
    security = settings_security(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka, **security)
    await admin.start()
    try:
        described = await admin.describe_topics(names)
    finally:
        await admin.close()
    assert all(t.get("error_code", 0) == 0 for t in described), described
    partitions = [
        TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
    ]
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka, group_id=None, **security)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    counts = dict.fromkeys(names, 0)
    for partition, end in ends.items():
        counts[partition.topic] += end
    return counts


async def _caught_up(runtime: OutcomesRuntime, handled: int) -> bool:
    """The consumer has committed past `handled` history records."""
    settings = runtime.settings
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka, **settings_security(settings))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(f"{settings.topic_prefix}outcomes")
    finally:
        await admin.close()
    history = topic_name(Topic.OUTCOMES_HISTORY, settings.topic_prefix)
    return sum(o.offset for tp, o in offsets.items() if tp.topic == history) >= handled
