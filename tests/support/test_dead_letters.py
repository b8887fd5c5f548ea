"""An allocation that can never be handled is dead-lettered with the field named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.support.app import build_service
from shared.clock import ManualClock
from shared.events.catalogue import CaseAllocated
from shared.events.envelope import make_event
from shared.kafka import ensure_topics
from shared.topics import dlq_topic_name
from tests.helpers import publish, wait_for
from tests.support.helpers import ORG, allocated

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def test_allocation_without_hours_is_dead_lettered(make_settings, topic_reader) -> None:
    settings = make_settings("support")
    dlq = dlq_topic_name("support", settings.topic_prefix)
    await ensure_topics(settings, [dlq])
    data = allocated("case-bad", START).payload()
    assert isinstance(data, CaseAllocated)
    bad = make_event(
        data.model_copy(update={"target_hours_per_week": 0}), source="allocation", organisation=ORG
    )
    await publish(settings, bad, allocated("case-good", START))
    runtime, casework = build_service(settings, ManualClock(START))
    await runtime.start()
    try:
        reader = await topic_reader(dlq)
        [record] = await reader.read_until(lambda r: len(r) >= 1)
        reason = dict(record.headers)["hearth_dlq_reason"].decode()
        assert reason.startswith("data.target_hours_per_week")
        assert await wait_for(lambda: casework.store.get("case-good"))
        assert await casework.store.get("case-bad") is None
    finally:
        await runtime.stop()
