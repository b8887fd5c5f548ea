"""Dead-letter publishing: the original record, untouched, plus why it could not be handled.

The record's value stays as it came (the dead-letter topic is access-controlled and a replay
needs it); the headers added here name the error's type, field and codes but never a value
(`shared.redaction`): a PyMongo or pydantic error's own text carries the document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaBroker

from shared.redaction import safe_reason, safe_trace

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


async def send_to_dead_letter(
    broker: KafkaBroker,
    dlq_topic: str,
    record: Any,
    group: str,
    error: BaseException,
    attempts: int,
) -> None:
    """Returns once the broker holds the dead letter, so committing past it loses nothing."""
    await broker.publish(
        record.value or b"",
        topic=dlq_topic,
        key=record.key,
        headers=dead_letter_headers(record, group, error, attempts),
    )
