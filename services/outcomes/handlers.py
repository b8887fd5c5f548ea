"""Consumers: every platform event into the fact store, a poll at a time."""

from __future__ import annotations

from typing import Any

from services.outcomes.facts import fact_from
from services.outcomes.history_batches import HistoryError, unwrap
from services.outcomes.store import OutcomesStore
from shared.consumer import EventConsumer, PermanentError
from shared.events.base import EventData, event_type_name
from shared.events.envelope import Envelope
from shared.events.history_events import HistoryImported

# Facts of imported history written per store call: a poll may bring hundreds of records of
# 500 events each.
HISTORY_CHUNK = 2000


def register(
    consumer: EventConsumer, store: OutcomesStore, models: tuple[type[EventData], ...]
) -> None:
    @consumer.on_batch(*models)
    async def record(batch: list[tuple[Envelope, Any]]) -> None:
        await store.record([fact_from(envelope, data) for envelope, data in batch])

    kept = {event_type_name(model): model for model in models}

    @consumer.on_batch(HistoryImported)
    async def import_history(batch: list[tuple[Envelope, Any]]) -> None:
        """Imported history: each inner event recorded exactly as if it had arrived on its
        own topic (fact id = its event id), so a repeat of the import changes nothing."""
        facts = []
        for envelope, data in batch:
            try:
                inner = unwrap(envelope, data, kept)
            except HistoryError as exc:
                raise PermanentError(str(exc)) from exc
            facts += [fact_from(event, payload) for event, payload in inner]
        for start in range(0, len(facts), HISTORY_CHUNK):
            await store.record(facts[start : start + HISTORY_CHUNK])
