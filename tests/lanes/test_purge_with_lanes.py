"""Purging a laned topic against the real broker: a record is deleted only once every lane's
group has committed past it, so a bulk group behind the interactive one loses nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.kafka import ensure_topics, settings_security
from shared.settings import HearthSettings
from shared.topic_purge import purge_consumed, unconsumed
from shared.topics import Topic, topic_name

pytestmark = pytest.mark.integration


async def intake_topic(settings: HearthSettings, records: dict[int, int]) -> str:
    """The namespace's intake topic with `records[partition]` records in each partition."""
    await ensure_topics(settings)
    topic = topic_name(Topic.REFERRAL_INTAKE, settings.topic_prefix)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka, **settings_security(settings))
    await producer.start()
    try:
        for partition, count in records.items():
            for n in range(count):
                await producer.send_and_wait(topic, f"r{n}".encode(), partition=partition)
    finally:
        await producer.stop()
    return topic


async def commit(settings: HearthSettings, group: str, topic: str, offsets: dict[int, int]) -> None:
    """Commit `offsets` (partition -> offset) for `group`, as a consumer of it would have."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka,
        group_id=group,
        enable_auto_commit=False,
        **settings_security(settings),
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in offsets])
        await consumer.commit({TopicPartition(topic, p): o for p, o in offsets.items()})
    finally:
        await consumer.stop()


async def low_watermarks(settings: HearthSettings, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka, **settings_security(settings))
    await consumer.start()
    try:
        found = await consumer.beginning_offsets([TopicPartition(topic, p) for p in range(3)])
    finally:
        await consumer.stop()
    return {tp.partition: offset for tp, offset in found.items()}


async def test_a_purge_waits_for_every_lanes_group(
    make_settings: Callable[..., HearthSettings],
) -> None:
    settings = make_settings("referral")
    topic = await intake_topic(settings, {0: 6, 1: 6})
    interactive, bulk = f"{settings.topic_prefix}referral", f"{settings.topic_prefix}referral.bulk"
    await commit(settings, interactive, topic, {0: 6, 1: 6})
    # The bulk group is behind on partition 0 and has committed nothing on partition 1.
    await commit(settings, bulk, topic, {0: 2})

    moved = await purge_consumed(settings, [topic], [interactive, bulk])

    assert moved == {f"{topic}/0": 2}
    lows = await low_watermarks(settings, topic)
    assert lows[0] == 2  # what the bulk group has not read is still there
    assert lows[1] == 0  # nothing purged where one group has committed nothing


async def test_the_order_of_the_groups_does_not_matter(
    make_settings: Callable[..., HearthSettings],
) -> None:
    """A partition only a later group has committed on is not purged for it either."""
    settings = make_settings("referral")
    topic = await intake_topic(settings, {1: 4})
    interactive, bulk = f"{settings.topic_prefix}referral", f"{settings.topic_prefix}referral.bulk"
    await commit(settings, bulk, topic, {1: 4})

    moved = await purge_consumed(settings, [topic], [interactive, bulk])

    assert moved == {}
    assert (await low_watermarks(settings, topic))[1] == 0


async def test_what_a_purge_could_not_delete_is_counted_until_read(
    make_settings: Callable[..., HearthSettings],
) -> None:
    """A purge that ran before its group committed leaves records; `unconsumed` says so, and
    the privacy service purges again until it says nothing is left (services/privacy)."""
    settings = make_settings("referral")
    topic = await intake_topic(settings, {0: 5})
    group = f"{settings.topic_prefix}referral"
    await commit(settings, group, topic, {0: 0})
    assert await unconsumed(settings, [topic], [group]) == 5  # nothing read yet
    await commit(settings, group, topic, {0: 3})
    await purge_consumed(settings, [topic], [group])
    assert await unconsumed(settings, [topic], [group]) == 2
    await commit(settings, group, topic, {0: 5})
    assert await unconsumed(settings, [topic], [group]) == 0
