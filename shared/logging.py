"""Structured logs: JSON in services, readable in a terminal; context bound per message."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

from shared.redaction import redact_fields, safe_trace, scrub_text


def configure_logging(service: str, json: bool = True, level: str = "INFO") -> None:
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            drop_personal_data,  # before anything renders an exception or a value
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # Library loggers (aiokafka, uvicorn) stay on stdlib logging, quieter; an unhandled
    # error's traceback (uvicorn's "Exception in ASGI application") is written value-free.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeFormatter())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])


# Log fields that hold an error's text: scrubbed of personal shapes even when a caller passed
# str(exc) instead of safe_error(exc).
_ERROR_KEYS = frozenset({"error", "reason", "exception", "detail"})


def drop_personal_data(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: personal keys masked at any depth, exceptions described by
    `shared.redaction` (a PyMongo or pydantic error's text carries the document it failed on)."""
    exc_info = event_dict.pop("exc_info", None)
    if exc_info:
        exc = _exception_of(exc_info)
        if exc is not None:
            event_dict["exception"] = safe_trace(exc)
    redacted: dict[str, Any] = redact_fields(event_dict)
    for key in _ERROR_KEYS & redacted.keys():
        if isinstance(redacted[key], str):
            redacted[key] = scrub_text(redacted[key])
    return redacted


def _exception_of(exc_info: Any) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple):
        return exc_info[1] if len(exc_info) > 1 else None
    return sys.exc_info()[1]  # exc_info=True


class SafeFormatter(logging.Formatter):
    """stdlib records (libraries, uvicorn) with value-free exceptions."""

    def formatException(self, ei: Any) -> str:
        exc = _exception_of(ei)
        return safe_trace(exc).rstrip("\n") if exc is not None else ""

    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = None  # never a cached, unsafe rendering
        return scrub_text(super().format(record))


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]


@contextmanager
def log_context(**values: Any) -> Iterator[None]:
    """Bind values (event id, type, case id, correlation id) for everything logged inside."""
    tokens = structlog.contextvars.bind_contextvars(**{k: v for k, v in values.items() if v})
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
