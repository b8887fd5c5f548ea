"""Deleting consumed records from a topic that carries personal data.

Kafka cannot delete one record, only everything before an offset in a partition
(DeleteRecords). On the few topics that carry personal data (partners' referral intake and
arrears feeds, contact details for notifications, subject-access answers) every record has
done its work once its consumer group has committed past it: the consuming service holds what
it accepted in its own database, where erasure reaches it. So erasure, and the privacy service
after storing a bundle, delete each partition up to the group's committed offset. Records not
yet consumed stay until they are. Platform event topics carry ids and codes, never personal
data, and are never purged: the outcomes service rebuilds from them.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from shared.kafka import settings_security
from shared.logging import get_logger
from shared.settings import HearthSettings

log = get_logger(__name__)


async def purge_consumed(
    settings: HearthSettings, topics: Iterable[str], groups: Iterable[str]
) -> dict[str, int]:
    """Delete every record of `topics` that all of `groups` have committed past.

    Returns the new low watermark per "topic/partition" that was moved. A partition some
    group has not committed on is left alone."""
    wanted = set(topics)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka, **settings_security(settings))
    await admin.start()
    try:
        # Only partitions every group has committed on, each up to the slowest group.
        committed: dict[TopicPartition, int] | None = None
        for group in groups:
            offsets = await admin.list_consumer_group_offsets(group)
            mine = {tp: meta.offset for tp, meta in offsets.items() if tp.topic in wanted}
            if committed is None:
                committed = mine
            else:
                committed = {tp: min(o, mine[tp]) for tp, o in committed.items() if tp in mine}
        targets = {
            tp: RecordsToDelete(before_offset=offset)
            for tp, offset in (committed or {}).items()
            if offset > 0
        }
        if not targets:
            return {}
        result = await admin.delete_records(targets)
    finally:
        await admin.close()
    moved = {f"{tp.topic}/{tp.partition}": low for tp, low in result.items()}
    log.info("topic.purged", partitions=len(moved))
    return moved


async def unconsumed(settings: HearthSettings, topics: Iterable[str], groups: Iterable[str]) -> int:
    """How many records of `topics` one of `groups` has not committed past yet: what a purge
    could not delete, to be purged again once it has been read."""
    wanted = set(topics)
    reader = AIOKafkaConsumer(bootstrap_servers=settings.kafka, **settings_security(settings))
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka, **settings_security(settings))
    await reader.start()
    await admin.start()
    try:
        described = await admin.describe_topics(sorted(wanted))
        partitions = [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            for partition in topic.get("partitions", ())
        ]
        ends = await reader.end_offsets(partitions) if partitions else {}
        behind: dict[TopicPartition, int] = {}  # per partition, the slowest group's
        for group in groups:
            offsets = await admin.list_consumer_group_offsets(group)
            for tp, end in ends.items():
                committed = offsets[tp].offset if tp in offsets else 0
                behind[tp] = max(behind.get(tp, 0), end - max(committed, 0))
        return sum(behind.values())
    finally:
        await admin.close()
        await reader.stop()
