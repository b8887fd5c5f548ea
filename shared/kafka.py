"""The broker setup every service shares: FastStream's KafkaBroker over aiokafka, topic
creation, and publishing of envelopes in CloudEvents binary mode."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram512

from shared.broker_access import INGRESS_TOPICS, ingress_topic
from shared.events.base import model_for_type
from shared.events.envelope import Envelope, to_kafka
from shared.settings import HearthSettings
from shared.topics import Topic, all_topic_names, topic_configs, topic_name


def partner_ingress_topics(settings: HearthSettings) -> list[str]:
    """One ingress topic per partner organisation with direct broker access, per ingress."""
    return [
        ingress_topic(base, organisation, settings.topic_prefix)
        for organisation in settings.partner_organisations
        for base in INGRESS_TOPICS
    ]


def client_security(
    username: str, password: str, mechanism: str = "SCRAM-SHA-512"
) -> dict[str, Any]:
    """aiokafka's options for a principal (none when the broker needs no authentication)."""
    if not username:
        return {}
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": username,
        "sasl_plain_password": password,
    }


def settings_security(settings: HearthSettings) -> dict[str, Any]:
    """aiokafka's options for this process's own principal."""
    return client_security(
        settings.kafka_username,
        settings.kafka_password.get_secret_value(),
        settings.kafka_sasl_mechanism,
    )


def make_broker(settings: HearthSettings) -> KafkaBroker:
    security: BaseSecurity | None = None
    if settings.kafka_username and settings.kafka_sasl_mechanism == "PLAIN":
        security = SASLPlaintext(
            settings.kafka_username, settings.kafka_password.get_secret_value()
        )
    elif settings.kafka_username:
        security = SASLScram512(settings.kafka_username, settings.kafka_password.get_secret_value())
    # acks=all with idempotence: an acknowledged event survives and is never written twice by
    # a producer retry.
    return KafkaBroker(
        settings.kafka,
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
        client_id=f"hearth-{settings.service_name}",
        logger=None,
        security=security,
    )


async def ensure_topics(settings: HearthSettings, extra: Iterable[str] = ()) -> None:
    """Create the platform's topics (and any extra, e.g. DLQs) if they are missing. Under ACLs
    a service creates only those it may (its own); the rest the operator's provisioning made."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka, **settings_security(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            *all_topic_names(settings.topic_prefix),
            *partner_ingress_topics(settings),
            *extra,
        ]
        missing = [name for name in dict.fromkeys(wanted) if name not in existing]
        if missing:
            logical = {topic_name(t, settings.topic_prefix): t for t in Topic}
            topics = [
                NewTopic(
                    name,
                    settings.topic_partitions,
                    1,
                    topic_configs=topic_configs(logical[name]) if name in logical else None,
                )
                for name in missing
            ]
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
