"""A minimal service on the shared runtime, used to prove the spine's guarantees.

It counts ProbeCounted events per case with the same pattern every real handler uses:
one unit of work whose single write applies the change, records the event id and queues the
follow-on events.
"""

from __future__ import annotations

from typing import ClassVar

from pymongo.errors import OperationFailure

from shared.clock import Clock
from shared.events.base import EventData
from shared.events.envelope import Envelope, follow_on
from shared.repository import RawDocuments
from shared.runtime import ServiceRuntime
from shared.settings import HearthSettings
from shared.topics import Topic
from shared.unit_of_work import UnitOfWork


class ProbeCounted(EventData):
    TYPE: ClassVar[str] = "ProbeCounted"
    TOPIC: ClassVar[str] = Topic.CASE_EVENTS

    case_id: str
    amount: int = 1
    fail_times: int = 0  # the handler raises this many times before it succeeds
    transient_times: int = 0  # ... and first this many times a transient database error


class ProbeTallied(EventData):
    TYPE: ClassVar[str] = "ProbeTallied"
    TOPIC: ClassVar[str] = Topic.REFERRAL_EVENTS

    case_id: str
    total: int


def build_probe(settings: HearthSettings, clock: Clock | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime(settings, clock, configure_logs=False)
    counts = RawDocuments(runtime.collection("tallies", outbox=True))
    consumer = runtime.consumer([Topic.CASE_EVENTS])
    attempts: dict[str, int] = {}
    runtime.attempts = attempts  # type: ignore[attr-defined]

    @consumer.on(ProbeCounted)
    async def count(envelope: Envelope, data: ProbeCounted) -> None:
        attempts[envelope.id] = attempts.get(envelope.id, 0) + 1
        if attempts[envelope.id] <= data.transient_times:
            raise OperationFailure("database is locked", code=1)  # FerretDB's SQLite busy
        if attempts[envelope.id] <= data.transient_times + data.fail_times:
            raise RuntimeError(f"simulated failure {attempts[envelope.id]}")
        tally = follow_on(envelope, ProbeTallied(case_id=data.case_id, total=-1), source="probe")
        uow = UnitOfWork(runtime.relay)
        uow.upsert(
            counts,
            data.case_id,
            {"$inc": {"total": data.amount, "events": 1}},
            {"total": data.amount, "events": 1},
            [tally],
            event_id=envelope.id,
        )
        await uow.commit()

    return runtime
