"""Consumers: every audit event appended to its organisation's chain in the order it came, and
the case -> person projection behind "who has seen this person's record"."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from services.audit.store import AuditStore, NewEntry
from shared.consumer import EventConsumer
from shared.events.audit_events import AuditRecorded
from shared.events.catalogue import CaseAllocated, ReferralReceived
from shared.events.envelope import Envelope


def _to_millisecond(moment: datetime) -> datetime:
    # Stored (and hashed) as the database keeps it, so a redelivery compares equal.
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def new_entry(envelope: Envelope, data: AuditRecorded) -> NewEntry:
    fields = data.model_dump(mode="json")
    fields["at"] = _to_millisecond(data.at)  # a date, so time ranges compare as dates
    return NewEntry(envelope.id, fields)


def register(consumer: EventConsumer, store: AuditStore) -> None:
    @consumer.on_batch(AuditRecorded)
    async def recorded(batch: list[tuple[Envelope, Any]]) -> None:
        # Each organisation's entries in poll order (one partition per organisation keeps
        # them in publishing order); organisations side by side.
        chains: dict[str, list[NewEntry]] = {}
        for envelope, data in batch:
            chains.setdefault(data.organisation, []).append(new_entry(envelope, data))
        results = await asyncio.gather(
            *(store.append(organisation, entries) for organisation, entries in chains.items()),
            return_exceptions=True,
        )
        # Raised only once every chain is done, so a retry never races this batch's appends.
        for result in results:
            if isinstance(result, BaseException):
                raise result

    @consumer.on_batch(ReferralReceived, CaseAllocated)
    async def cases(batch: list[tuple[Envelope, Any]]) -> None:
        await store.learn_cases(
            [(data.case_id, data.person_id, envelope.organisation) for envelope, data in batch]
        )
