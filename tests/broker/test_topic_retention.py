"""The spine topics are kept for ever, so the outcomes service can rebuild its store from their
beginning (issue 18); topics carrying personal data keep the broker's own retention."""

from __future__ import annotations

from collections.abc import Callable

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.kafka import ensure_topics, settings_security
from shared.settings import HearthSettings
from shared.topics import KEPT_FOREVER, Topic, topic_name


async def test_spine_topics_are_created_to_be_kept_for_ever(
    make_settings: Callable[..., HearthSettings],
) -> None:
    settings = make_settings("probe")
    await ensure_topics(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka, **settings_security(settings))
    await admin.start()
    try:
        wanted = [Topic.CASE_EVENTS, Topic.TENANCY_RISK, Topic.CONTACTS, Topic.PRIVACY_RESPONSES]
        resources = [
            ConfigResource(ConfigResourceType.TOPIC, topic_name(t, settings.topic_prefix))
            for t in wanted
        ]
        responses = await admin.describe_configs(resources)
    finally:
        await admin.close()
    retention = {}
    for response in responses:
        for resource in response.resources:
            name, entries = resource[3], resource[4]
            for entry in entries:
                if entry[0] == "retention.ms":
                    retention[name[len(settings.topic_prefix) :]] = entry[1]
    assert retention[Topic.CASE_EVENTS] == "-1"
    assert retention[Topic.TENANCY_RISK] == "-1"
    assert retention[Topic.CONTACTS] != "-1"  # personal data: never kept for ever
    assert retention[Topic.PRIVACY_RESPONSES] != "-1"
    assert Topic.CONTACTS not in KEPT_FOREVER
