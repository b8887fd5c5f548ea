"""Consumers: every platform event into the fact store, a poll at a time."""

from __future__ import annotations

from typing import Any

from services.outcomes.facts import fact_from
from services.outcomes.store import OutcomesStore
from shared.consumer import EventConsumer
from shared.events.base import EventData
from shared.events.envelope import Envelope


def register(
    consumer: EventConsumer, store: OutcomesStore, models: tuple[type[EventData], ...]
) -> None:
    @consumer.on_batch(*models)
    async def record(batch: list[tuple[Envelope, Any]]) -> None:
        await store.record([fact_from(envelope, data) for envelope, data in batch])
