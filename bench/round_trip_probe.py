"""Loaded into a service process by `bench.round_trips --trace` (through a generated
`sitecustomize.py`), never by the services themselves: it notes every database command
(PyMongo command monitoring, registered globally so the service's own client gets it) and
every broker send, acknowledgement, poll and offset commit, one JSON line each, in
`$HEARTH_ROUND_TRIPS_DIR/<service>-<pid>.jsonl`. Times are wall-clock seconds, so the lines of
several processes on one machine can be put in one order.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from pymongo import monitoring

_COLLECTION_COMMANDS = frozenset(
    {"find", "insert", "update", "delete", "findAndModify", "aggregate", "count", "distinct"}
)


class _Trace:
    def __init__(self, directory: str, service: str) -> None:
        self.service = service
        path = os.path.join(directory, f"{service}-{os.getpid()}.jsonl")
        self._file = open(path, "a", buffering=1)  # noqa: SIM115 (open for the process's life)

    def note(self, kind: str, start: float, end: float, **fields: Any) -> None:
        line = {"service": self.service, "kind": kind, "start": start, "end": end, **fields}
        self._file.write(json.dumps(line) + "\n")


class _Commands(monitoring.CommandListener):
    def __init__(self, trace: _Trace) -> None:
        self.trace = trace
        self._started: dict[tuple[object, int], tuple[float, str, str]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name in _COLLECTION_COMMANDS:
            target = str(event.command.get(name))
        elif name == "getMore":
            target = str(event.command.get("collection"))
        else:
            target = ""
        self._started[(event.connection_id, event.request_id)] = (time.time(), name, target)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._observe(event, "ok")

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._observe(event, "failed")

    def _observe(self, event: Any, result: str) -> None:
        begun = self._started.pop((event.connection_id, event.request_id), None)
        if begun is None:
            return
        start, name, collection = begun
        if name in ("hello", "isMaster", "ping", "endSessions"):
            return  # the driver's own heartbeats, not the service's work
        self.trace.note(
            "db", start, time.time(), command=name, collection=collection, result=result
        )


def _patch_kafka(trace: _Trace) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    send = AIOKafkaProducer.send

    async def traced_send(self: Any, topic: str, *args: Any, **kwargs: Any) -> Any:
        start = time.time()
        headers = kwargs.get("headers") or (args[4] if len(args) > 4 else None) or []
        event_type = dict(headers).get("ce_type", b"").decode(errors="replace")
        future = await send(self, topic, *args, **kwargs)

        def acked(_: Any) -> None:
            trace.note("publish", start, time.time(), topic=topic, type=event_type)

        future.add_done_callback(acked)
        return future

    getmany = AIOKafkaConsumer.getmany

    async def traced_getmany(self: Any, *partitions: Any, **kwargs: Any) -> Any:
        batches = await getmany(self, *partitions, **kwargs)
        if any(batches.values()):
            now = time.time()
            types: dict[str, int] = {}
            for records in batches.values():
                for record in records:
                    kind = dict(record.headers or []).get("ce_type", b"?").decode(errors="replace")
                    types[kind] = types.get(kind, 0) + 1
            trace.note("poll", now, now, types=types)
        return batches

    commit = AIOKafkaConsumer.commit

    async def traced_commit(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.time()
        try:
            return await commit(self, *args, **kwargs)
        finally:
            trace.note("commit", start, time.time())

    AIOKafkaProducer.send = traced_send  # type: ignore[method-assign]
    AIOKafkaConsumer.getmany = traced_getmany  # type: ignore[method-assign]
    AIOKafkaConsumer.commit = traced_commit  # type: ignore[method-assign]


def install() -> None:
    directory = os.environ.get("HEARTH_ROUND_TRIPS_DIR")
    if not directory:
        return
    trace = _Trace(directory, os.environ.get("HEARTH_SERVICE_NAME", "process"))
    monitoring.register(_Commands(trace))
    _patch_kafka(trace)
