"""Database commands per collection on /metrics: which writes an event costs, and their time,
and the documents those writes changed.

The figures behind a profile and a cost model (`bench.pipeline` prints them per service) and
what an operator reads when the database is the bottleneck.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import Counter
from pymongo import monitoring

from shared.metrics import DATABASE_COMMAND_SECONDS

# Commands whose first value names the collection they act on.
_COLLECTION_COMMANDS = frozenset(
    {"find", "insert", "update", "delete", "findAndModify", "aggregate", "count", "distinct"}
)
_WRITE_COMMANDS = frozenset({"insert", "update", "delete", "findAndModify"})

DATABASE_DOCUMENTS_WRITTEN = Counter(
    "hearth_database_documents_written",
    "Documents inserted, changed or deleted, as the database's replies count them",
    ["service", "command", "collection"],
)


def documents_written(command: str, reply: Mapping[str, Any]) -> int:
    """How many documents a write command's reply says it inserted, changed or deleted.

    An update counts what it modified and what it upserted (`n` alone would count documents a
    guard matched but the update left as they were); a reply without `nModified` (FerretDB's
    answer to a bulk upsert meeting a duplicate key) falls back to `n`.
    """
    if command in ("insert", "delete"):
        return int(reply.get("n", 0))
    if command == "update":
        upserted = len(reply.get("upserted") or ())
        modified = reply.get("nModified")
        return upserted + int(modified) if modified is not None else int(reply.get("n", 0))
    if command == "findAndModify":
        last = reply.get("lastErrorObject") or {}
        changed = reply.get("value") is not None or last.get("upserted") is not None
        return int(last.get("n", 0)) if changed else 0
    return 0


class DatabaseCommandMetrics(monitoring.CommandListener):
    def __init__(self, service: str) -> None:
        self.service = service
        self._collections: dict[tuple[object, int], str] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name in _COLLECTION_COMMANDS:
            target = event.command.get(name)
        elif name == "getMore":
            target = event.command.get("collection")
        else:
            return
        self._collections[(event.connection_id, event.request_id)] = str(target)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        collection = self._observe(event)
        if collection is not None and event.command_name in _WRITE_COMMANDS:
            written = documents_written(event.command_name, event.reply)
            if written:
                DATABASE_DOCUMENTS_WRITTEN.labels(self.service, event.command_name, collection).inc(
                    written
                )

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._observe(event)

    def _observe(
        self, event: monitoring.CommandSucceededEvent | monitoring.CommandFailedEvent
    ) -> str | None:
        collection = self._collections.pop((event.connection_id, event.request_id), None)
        if collection is not None:
            DATABASE_COMMAND_SECONDS.labels(self.service, event.command_name, collection).observe(
                event.duration_micros / 1e6
            )
        return collection
