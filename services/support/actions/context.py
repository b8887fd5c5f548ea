"""What every case action shares: the runtime, the store, the clock, how a new fact about a
case becomes an event, and the errors an HTTP caller sees."""

from __future__ import annotations

from datetime import date, datetime

from services.support.store import OPEN, SupportStore
from shared.events.base import EventData
from shared.events.envelope import Envelope, make_event
from shared.mongo import Document
from shared.runtime import ServiceRuntime

SOURCE = "support"


class CaseworkError(Exception):
    """A request that cannot be done: HTTP status, the field at fault, why."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.status = status
        self.field = field


def not_found(case_id: str) -> CaseworkError:
    return CaseworkError(404, "case_id", f"no case {case_id!r} in your organisation")


def changed() -> CaseworkError:
    return CaseworkError(409, "case_id", "the case changed meanwhile or is closed; reload")


def why(exc: ValueError) -> str:
    """The message of a rule error without its field prefix."""
    return str(exc).split(": ", 1)[-1]


class SupportContext:
    def __init__(self, runtime: ServiceRuntime, store: SupportStore) -> None:
        self.runtime = runtime
        self.store = store

    def now(self) -> datetime:
        return self.runtime.clock.now()

    def today(self) -> date:
        return self.now().date()

    def event(self, case: Document, data: EventData) -> Envelope:
        """A new fact about a case from a person (HTTP): same correlation as the case."""
        return make_event(
            data,
            source=SOURCE,
            organisation=case["organisation"],
            correlation_id=case.get("correlation_id"),
            time=self.now(),
        )

    async def flush(self, case: Document | None) -> None:
        await self.runtime.relay.flush(self.store.cases, case)

    async def case(self, organisation: str, case_id: str) -> Document:
        case = await self.store.get(case_id, organisation)
        if case is None:
            raise not_found(case_id)
        return case

    async def open_case(self, organisation: str, case_id: str) -> Document:
        case = await self.case(organisation, case_id)
        if case["status"] != OPEN:
            raise CaseworkError(409, "case_id", f"case {case_id!r} is closed")
        return case
