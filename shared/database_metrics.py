"""Database commands per collection on /metrics: which writes an event costs, and their time.

The figures behind a profile (`bench.pipeline` prints them per service) and what an operator
reads when the database is the bottleneck.
"""

from __future__ import annotations

from pymongo import monitoring

from shared.metrics import DATABASE_COMMAND_SECONDS

# Commands whose first value names the collection they act on.
_COLLECTION_COMMANDS = frozenset(
    {"find", "insert", "update", "delete", "findAndModify", "aggregate", "count", "distinct"}
)


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
        self._observe(event)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._observe(event)

    def _observe(
        self, event: monitoring.CommandSucceededEvent | monitoring.CommandFailedEvent
    ) -> None:
        collection = self._collections.pop((event.connection_id, event.request_id), None)
        if collection is not None:
            DATABASE_COMMAND_SECONDS.labels(self.service, event.command_name, collection).observe(
                event.duration_micros / 1e6
            )
