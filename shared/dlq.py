"""Dead-letter publishing: a reference to the failed record, plus why it could not be handled.

The record itself is sealed into the service's quarantine first (`shared.quarantine`: its own
database, encrypted, erasable); the dead-letter topic, which nobody can erase, then gets only
a small JSON reference naming the quarantine entry. The headers added here name the error's
type, field and codes but never a value (`shared.redaction`): a PyMongo or pydantic error's
own text carries the document. Written in that order, a record is never lost: if either step
fails, the caller leaves the batch uncommitted and it is handled again."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from faststream.kafka import KafkaBroker

from shared.redaction import safe_reason, safe_trace

if TYPE_CHECKING:
    from shared.events.envelope import Envelope
    from shared.quarantine import HeldRecord, Quarantine

DLQ_HEADER_PREFIX = "hearth_dlq_"


def dead_letter_headers(
    record: Any, group: str, error: BaseException, attempts: int
) -> dict[str, str]:
    original = {
        name: value.decode(errors="replace") if isinstance(value, bytes) else str(value)
        for name, value in (record.headers or [])
    }
    return {
        **original,
        f"{DLQ_HEADER_PREFIX}reason": safe_reason(error)[:2000],
        f"{DLQ_HEADER_PREFIX}error_type": type(error).__name__,
        f"{DLQ_HEADER_PREFIX}trace": safe_trace(error, limit=4000),
        f"{DLQ_HEADER_PREFIX}group": group,
        f"{DLQ_HEADER_PREFIX}topic": record.topic,
        f"{DLQ_HEADER_PREFIX}partition": str(record.partition),
        f"{DLQ_HEADER_PREFIX}offset": str(record.offset),
        f"{DLQ_HEADER_PREFIX}attempts": str(attempts),
        f"{DLQ_HEADER_PREFIX}at": datetime.now(UTC).isoformat(),
    }


def dead_letter_reference(service: str, held: HeldRecord) -> dict[str, Any]:
    """The dead letter's value: where the record is kept and why, no value of it."""
    return {
        "quarantine_id": held.id,
        "service": service,
        "topic": held.topic,
        "partition": held.partition,
        "offset": held.offset,
        "group": held.group,
        "reason": held.reason,
        "error_type": held.error_type,
    }


async def send_to_dead_letter(
    broker: KafkaBroker,
    dlq_topic: str,
    record: Any,
    group: str,
    error: BaseException,
    attempts: int,
    quarantine: Quarantine,
    envelope: Envelope | None = None,
) -> HeldRecord:
    """Quarantine the record, then publish the reference; returns once the broker holds the
    dead letter, so committing past it loses nothing."""
    held = await quarantine.hold(record, group, error, attempts, envelope)
    headers = dead_letter_headers(record, group, error, attempts)
    headers[f"{DLQ_HEADER_PREFIX}quarantine_id"] = held.id
    await broker.publish(
        json.dumps(dead_letter_reference(quarantine.service, held)).encode(),
        topic=dlq_topic,
        key=held.id.encode(),  # the original key may not be an id; the reference is
        headers=headers,
    )
    return held
