"""Rebuild the reporting store from the topics, from their beginning (issue 18).

`python -m services.outcomes rebuild` reads every subscribed topic from offset zero up to the
end it finds when it starts, with no consumer group (nothing committed, the running service's
group untouched), and records every event as the consumer would. Run it into a database of
its own (`--into hearth_outcomes_rebuilt`) beside a running service, then point the service at
it; or stop the service and rebuild its own database in place.

Records of imported history (the history topic) are unwrapped into their inner events, as the
consumer does. The spine topics are kept for ever (`retention.ms = -1`, shared/kafka.py) for
exactly this.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from services.outcomes.facts import fact_from
from services.outcomes.history_batches import HistoryError, unwrap
from services.outcomes.store import OutcomesStore
from services.outcomes.subscriptions import SUBSCRIBES, consumed_models
from shared.events.base import event_type_name
from shared.events.envelope import EnvelopeError, from_kafka
from shared.events.history_events import HistoryImported
from shared.kafka import settings_security
from shared.mongo import make_mongo_client
from shared.settings import HearthSettings, get_settings
from shared.topics import topic_name

BATCH = 2000
HISTORY_TYPE = event_type_name(HistoryImported)


def subscribed_topics() -> tuple[str, ...]:
    return tuple(str(t) for t in SUBSCRIBES)


@dataclass
class RebuildResult:
    records: int = 0
    facts: int = 0
    skipped: int = 0  # records of types outcomes does not keep, or unreadable


async def rebuild(settings: HearthSettings, database: str | None = None) -> RebuildResult:
    """Clear the store in `database` (the service's own by default) and fill it from the
    topics; returns what was read."""
    models = {event_type_name(m): m for m in consumed_models()}
    client = make_mongo_client(settings)
    store = OutcomesStore(client[database or settings.database_name])
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka,
        enable_auto_commit=False,
        group_id=None,
        **settings_security(settings),
    )
    result = RebuildResult()
    await consumer.start()
    try:
        await store.ensure_indexes()
        await store.clear()
        partitions = await _partitions(settings)
        if not partitions:
            return result
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            polled = await consumer.getmany(*remaining, timeout_ms=1000, max_records=BATCH)
            facts = []
            for tp, records in polled.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        continue
                    result.records += 1
                    try:
                        envelope = from_kafka(record.key, record.value, record.headers)
                    except EnvelopeError:
                        result.skipped += 1
                        continue
                    if envelope.type == HISTORY_TYPE:  # imported history: its inner events
                        try:
                            history = HistoryImported.model_validate(envelope.data)
                            inner = unwrap(envelope, history, models)
                        except (HistoryError, ValidationError):
                            result.skipped += 1
                            continue
                        facts += [fact_from(event, data) for event, data in inner]
                        continue
                    model = models.get(envelope.type)
                    if model is None:
                        result.skipped += 1
                        continue
                    facts.append(fact_from(envelope, model.model_validate(envelope.data)))
            # Facts only: the folds are made once, from the whole store, at the end.
            if facts:
                result.facts += len(await store.append(facts))
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        await store.rebuild_rollups()
    finally:
        await consumer.stop()
        await client.close()
    return result


async def _partitions(settings: HearthSettings) -> list[TopicPartition]:
    """Every partition of the subscribed topics that exist."""
    names = [topic_name(topic, settings.topic_prefix) for topic in subscribed_topics()]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka, **settings_security(settings))
    await admin.start()
    try:
        described = await admin.describe_topics(names)
    finally:
        await admin.close()
    return [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        if topic.get("error_code", 0) == 0
        for partition in sorted(topic["partitions"], key=lambda p: p["partition"])
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.outcomes rebuild")
    parser.add_argument("--into", help="database to rebuild into (default: the service's own)")
    args = parser.parse_args(argv)
    settings = get_settings().model_copy(update={"service_name": "outcomes"})
    result = asyncio.run(rebuild(settings, args.into))
    print(
        f"rebuilt from {result.records} records: {result.facts} facts, "
        f"{result.skipped} records skipped"
    )
    return 0
