"""The broker setup every service shares: FastStream's KafkaBroker over aiokafka, topic
creation, and publishing of envelopes in CloudEvents binary mode."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker

from shared.events.base import model_for_type
from shared.events.envelope import Envelope, to_kafka
from shared.settings import HearthSettings
from shared.topics import all_topic_names, topic_name


def make_broker(settings: HearthSettings) -> KafkaBroker:
    # acks=all with idempotence: an acknowledged event survives and is never written twice by
    # a producer retry.
    return KafkaBroker(
        settings.kafka,
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
        client_id=f"hearth-{settings.service_name}",
        logger=None,
    )


async def ensure_topics(settings: HearthSettings, extra: Iterable[str] = ()) -> None:
    """Create the platform's topics (and any extra, e.g. DLQs) if they are missing."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [*all_topic_names(settings.topic_prefix), *extra]
        missing = [name for name in dict.fromkeys(wanted) if name not in existing]
        if missing:
            topics = [NewTopic(name, settings.topic_partitions, 1) for name in missing]
            try:
                await admin.create_topics(topics)
            except TopicAlreadyExistsError:
                pass  # another replica won the race
    finally:
        await admin.close()


def envelope_topic(envelope: Envelope, prefix: str) -> str:
    model = model_for_type(envelope.type)
    if model is None:
        raise ValueError(f"type: no topic registered for {envelope.type!r}")
    return topic_name(model.TOPIC, prefix)


class EventPublisher:
    """Publishes envelopes; returns only once the broker has acknowledged every one."""

    def __init__(self, broker: KafkaBroker, settings: HearthSettings) -> None:
        self.broker = broker
        self.prefix = settings.topic_prefix

    async def publish(self, envelope: Envelope, topic: str | None = None) -> None:
        await self.publish_many([envelope], topic)

    async def publish_many(self, envelopes: Iterable[Envelope], topic: str | None = None) -> None:
        # Sent without waiting one by one, so aiokafka batches them; then every ack is awaited.
        futures = []
        for envelope in envelopes:
            key, value, headers = to_kafka(envelope)
            futures.append(
                await self.broker.publish(
                    value,
                    topic=topic or envelope_topic(envelope, self.prefix),
                    key=key,
                    headers=headers,
                    no_confirm=True,
                )
            )
        if futures:
            await asyncio.gather(*futures)
