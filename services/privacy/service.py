"""The privacy service's commands and the handling of answers, on the shared unit of work:
load (typed), let the pure rules decide, save the record with the events it causes in one
write (`shared.unit_of_work.attempt` decides again when another writer came first).

Subject access: a request is stored with its `SubjectAccessRequested`; each service's answer
is stored once (its id is the request and the service), the request marks who answered, and
the last answer fulfils it (audited). A while later the consumed answers are deleted from
`privacy.responses` (a timer, so the consumer group has committed past them by then).

Erasure: stored with its `ErasureRequested`; each `ErasureCarriedOut` is recorded. The
privacy service's own part, when the whole person is erased, is their stored bundles.

Retention: a closed case gets a timer per moment its record types fall due under the
organisation's schedule; firing publishes `ErasureRequested` (basis retention, scope cases).
A schedule change re-plans the open timers of the organisation's closed cases."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from services.privacy import audit_entries, lifecycle
from services.privacy.bundle import Bundle, assemble, records_json
from services.privacy.deadlines import response_due
from services.privacy.model import (
    AccessRequest,
    Answered,
    CarriedOut,
    Contribution,
    ErasureRecord,
    ScheduleRecord,
)
from services.privacy.retention import Period, plan
from services.privacy.schemas import RequestAccess, RequestErasure
from services.privacy.store import PrivacyStore
from shared.events.case_events import CaseClosed
from shared.events.envelope import Envelope, make_event
from shared.events.privacy_events import (
    ErasureBasis,
    ErasureCarriedOut,
    ErasureRequested,
    ErasureScope,
    RecordType,
    SubjectAccessRequested,
    SubjectDataContributed,
)
from shared.ids import new_id, stable_id
from shared.logging import get_logger
from shared.mongo import Document
from shared.runtime import ServiceRuntime
from shared.timers import Timer, TimerStore
from shared.topic_purge import purge_consumed, unconsumed
from shared.topics import Topic, topic_name
from shared.unit_of_work import ConcurrentUpdate, UnitOfWork, attempt

SOURCE = "privacy"
ACCESS_KIND = "subject-access-request"
ERASURE_KIND = "erasure-request"
RETENTION_TIMER = "retention"
PURGE_TIMER = "purge-answers"
# Long enough for the consumer group to commit past the answer that fulfilled the request.
PURGE_DELAY = timedelta(seconds=2)
PURGE_ATTEMPTS = 30  # PURGE_DELAY apart: a minute for the group to commit past the answers
EARLIEST_RECEIPT = timedelta(days=366)  # a request received over a year ago is a typo

log = get_logger(__name__)


class NotFound(Exception):
    """No such request in the caller's organisation (another's is not revealed): 404."""


class NotReady(Exception):
    """The bundle is not there (yet, or any more): 409 until fulfilled, 410 once erased."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class Refused(Exception):
    """A request the rules refuse; names the field: 422."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class PrivacyService:
    def __init__(self, runtime: ServiceRuntime, store: PrivacyStore) -> None:
        self.runtime = runtime
        self.store = store
        self.timers: TimerStore | None = None  # bound by the app with its scheduler
        self.group_id = ""  # the consumer group of privacy.responses, for the purge

    @property
    def now(self) -> datetime:
        return self.runtime.clock.now()

    # --- subject access -----------------------------------------------------------------

    async def request_access(
        self, organisation: str, subject: str | None, body: RequestAccess
    ) -> AccessRequest:
        now = self.now
        received = body.received_on or now.date()
        if received > now.date():
            raise Refused("received_on", "is in the future")
        if received < (now - EARLIEST_RECEIPT).date():
            raise Refused("received_on", "is more than a year ago")
        record = AccessRequest(
            request_id=new_id("sar"),
            organisation=organisation,
            person_id=body.person_id,
            requested_by=subject,
            requester_note=body.requester_note,
            received_on=received,
            due_on=response_due(received),
            requested_at=now,
        )
        event = make_event(
            SubjectAccessRequested(
                request_id=record.request_id,
                organisation=organisation,
                person_id=record.person_id,
                requested_at=now,
            ),
            source=SOURCE,
            organisation=organisation,
            correlation_id=record.request_id,
            time=now,
        )
        uow = UnitOfWork(self.runtime.relay)
        uow.add(self.store.access_requests, record, [event])
        await uow.commit()
        log.info("privacy.access_requested", request_id=record.request_id)
        return record

    async def access_request(self, request_id: str, organisation: str) -> AccessRequest:
        loaded = await self.store.access_request(request_id, organisation)
        if loaded is None:
            raise NotFound(request_id)
        return loaded.model

    async def access_requests(
        self, organisation: str, person_id: str | None = None
    ) -> list[AccessRequest]:
        return await self.store.access_requests_of(organisation, person_id)

    async def bundle(self, request_id: str, organisation: str) -> Bundle:
        request = await self.access_request(request_id, organisation)
        if request.bundle_erased_at is not None:
            raise NotReady("request_id: the person was erased; the bundle with them", 410)
        if request.fulfilled_at is None:
            waiting = ", ".join(lifecycle.awaiting(request.answers))
            raise NotReady(f"request_id: not fulfilled yet; waiting for {waiting}", 409)
        contributions = await self.store.contributions_of(request_id)
        return assemble(request, contributions, self.now)

    async def contributed(self, envelope: Envelope, data: SubjectDataContributed) -> None:
        """Store one service's answer once; the last contributor's answer fulfils the request."""
        if not lifecycle.is_contributor(data.service) or data.organisation != envelope.organisation:
            log.warning("privacy.answer_ignored", service=data.service, reason="not expected")
            return
        loaded = await self.store.access_request(data.request_id, envelope.organisation)
        if loaded is None or loaded.model.person_id != data.person_id:
            log.warning("privacy.answer_ignored", service=data.service, reason="no such request")
            return
        now = self.now
        if loaded.model.bundle_erased_at is None:
            # Stored first and apart: its id is the request and the service, so a repeated
            # answer is no second copy, and a crash before the request is marked loses nothing.
            uow = UnitOfWork(self.runtime.relay)
            contribution = Contribution(
                contribution_id=stable_id(data.request_id, data.service),
                request_id=data.request_id,
                organisation=data.organisation,
                person_id=data.person_id,
                service=data.service,
                answered_at=now,
                records_json=records_json(data.records),
            )
            uow.add(self.store.contributions, contribution)
            await uow.commit()

        async def step(uow: UnitOfWork) -> AccessRequest | None:
            current = await self.store.access_request(data.request_id, envelope.organisation)
            if current is None:
                return None
            request = current.model
            if data.service in request.answers:
                return request  # answered before: the first answer stands
            answers = {**request.answers, data.service: Answered(at=now, records=len(data.records))}
            fulfils = request.fulfilled_at is None and lifecycle.is_complete(answers)
            changed = request.model_copy(
                update={
                    "answers": answers,
                    "fulfilled_at": now if fulfils else request.fulfilled_at,
                }
            )
            events = []
            if fulfils:
                events.append(
                    audit_entries.completed(
                        request.organisation,
                        ACCESS_KIND,
                        request.request_id,
                        "subject-access.fulfilled",
                        now,
                    )
                )
            uow.save(self.store.access_requests, current, changed, events, event_id=envelope.id)
            return changed

        request, _ = await attempt(self.runtime.relay, step)
        if request is not None and request.fulfilled_at is not None:
            log.info("privacy.access_fulfilled", request_id=request.request_id)
            # Every time, not only the first: a crash after fulfilling must not skip it.
            await self._schedule_purge(request.request_id)

    async def _schedule_purge(self, request_id: str) -> None:
        if self.timers is not None:
            await self.timers.schedule(
                stable_id(PURGE_TIMER, request_id),
                self.now + PURGE_DELAY,
                PURGE_TIMER,
                request_id,
            )

    async def purge_answers(self, timer: Document) -> list[Envelope]:
        """Delete what the consumer group has committed of privacy.responses: the answers
        carry the person's data, and are stored here now. While some are not committed past
        yet (a commit that failed and a batch handled again, a slow poll), purge again a little
        later: the first timer of a request fires once, however often it is scheduled."""
        settings = self.runtime.settings
        topic = topic_name(Topic.PRIVACY_RESPONSES, settings.topic_prefix)
        await purge_consumed(settings, [topic], [self.group_id])
        attempt = int(timer.get("payload", {}).get("attempt", 0)) + 1
        if attempt < PURGE_ATTEMPTS and await unconsumed(settings, [topic], [self.group_id]):
            request_id = str(timer["subject"])
            if self.timers is not None:
                await self.timers.schedule(
                    stable_id(PURGE_TIMER, request_id, str(attempt)),
                    self.now + PURGE_DELAY,
                    PURGE_TIMER,
                    request_id,
                    attempt=attempt,
                )
        return []

    # --- erasure ------------------------------------------------------------------------

    async def request_erasure(
        self, organisation: str, subject: str | None, body: RequestErasure
    ) -> ErasureRecord:
        now = self.now
        bundles = 0
        if body.scope is ErasureScope.PERSON:
            bundles = await self._forget_bundles(organisation, body.person_id, now)
        record = ErasureRecord(
            request_id=new_id("era"),
            organisation=organisation,
            person_id=body.person_id,
            basis=ErasureBasis.REQUEST,
            scope=body.scope,
            case_ids=body.case_ids,
            record_types=body.record_types,
            reason=body.reason,
            requested_by=subject,
            requested_at=now,
            bundles_erased=bundles,
        )
        uow = UnitOfWork(self.runtime.relay)
        uow.add(self.store.erasure_requests, record, [self._erasure_event(record)])
        await uow.commit()
        log.info("privacy.erasure_requested", request_id=record.request_id, bundles=bundles)
        return record

    async def _forget_bundles(self, organisation: str, person_id: str, now: datetime) -> int:
        """The privacy service's own part of erasing a person: the bundles it stored. The
        requests stay (dates, status, counts), marked so that later answers are not kept."""
        for request in await self.store.access_requests_of(organisation, person_id):
            if request.bundle_erased_at is None:
                uow = UnitOfWork(self.runtime.relay)
                change = {"$set": {"bundle_erased_at": now}}
                uow.change(self.store.access_requests, request.request_id, change,
                           guard={"bundle_erased_at": None}, idempotent=True)  # fmt: skip
                await uow.commit()
        return await self.store.forget_bundles(organisation, person_id)

    @staticmethod
    def _erasure_event(record: ErasureRecord, event_id: str | None = None) -> Envelope:
        return make_event(
            ErasureRequested(
                request_id=record.request_id,
                organisation=record.organisation,
                person_id=record.person_id,
                basis=record.basis,
                scope=record.scope,
                case_ids=record.case_ids,
                record_types=record.record_types,
                requested_at=record.requested_at,
            ),
            source=SOURCE,
            organisation=record.organisation,
            correlation_id=record.request_id,
            event_id=event_id,
            time=record.requested_at,
        )

    async def erasure_request(self, request_id: str, organisation: str) -> ErasureRecord:
        loaded = await self.store.erasure_request(request_id, organisation)
        if loaded is None:
            raise NotFound(request_id)
        return loaded.model

    async def erasure_requests(
        self, organisation: str, person_id: str | None = None
    ) -> list[ErasureRecord]:
        return await self.store.erasure_requests_of(organisation, person_id)

    async def carried_out(self, envelope: Envelope, data: ErasureCarriedOut) -> None:
        """Record one service's erasure; when every contributor has, the erasure is complete."""
        if not lifecycle.is_contributor(data.service) or data.organisation != envelope.organisation:
            log.warning("privacy.answer_ignored", service=data.service, reason="not expected")
            return
        now = self.now

        async def step(uow: UnitOfWork) -> ErasureRecord | None:
            current = await self.store.erasure_request(data.request_id, envelope.organisation)
            if current is None or current.model.person_id != data.person_id:
                return None
            record = current.model
            if data.service in record.answers:
                return record
            done = CarriedOut(at=now, erased=data.erased, deidentified=data.deidentified)
            answers = {**record.answers, data.service: done}
            completes = record.completed_at is None and lifecycle.is_complete(answers)
            changed = record.model_copy(
                update={"answers": answers, "completed_at": now if completes else None}
            )
            events = []
            if completes:
                events.append(
                    audit_entries.completed(
                        record.organisation, ERASURE_KIND, record.request_id,
                        "erasure.carried-out", now,
                    )
                )  # fmt: skip
            uow.save(self.store.erasure_requests, current, changed, events, event_id=envelope.id)
            return changed

        record, _ = await attempt(self.runtime.relay, step)
        if record is None:
            log.warning("privacy.answer_ignored", service=data.service, reason="no such request")

    # --- retention ----------------------------------------------------------------------

    async def schedule(self, organisation: str) -> ScheduleRecord:
        loaded = await self.store.schedule(organisation)
        return loaded.model if loaded else ScheduleRecord(organisation=organisation)

    async def set_schedule(
        self, organisation: str, subject: str | None, periods: dict[RecordType, Period]
    ) -> ScheduleRecord:
        now = self.now
        record = ScheduleRecord(
            organisation=organisation, periods=periods, updated_at=now, updated_by=subject
        )

        async def step(uow: UnitOfWork) -> ScheduleRecord:
            current = await self.store.schedule(organisation)
            if current is None:
                uow.add(self.store.schedules, record)
            else:
                uow.save(self.store.schedules, current, record)
            return record

        try:
            await attempt(self.runtime.relay, step)
        except ConcurrentUpdate as exc:
            raise ConcurrentUpdate("periods: the schedule changed concurrently") from exc
        await self._replan(organisation, periods)
        return record

    def _retention_timers(
        self,
        organisation: str,
        case_id: str,
        person_id: str,
        closed_at: datetime,
        periods: dict[RecordType, Period],
        only: set[RecordType] | None = None,
    ) -> list[Timer]:
        wanted = {k: p for k, p in periods.items() if only is None or k in only}
        timers = []
        for due_at, kinds in plan(closed_at, wanted):
            if only is not None:
                kinds = [k for k in kinds if k in only]
            if not kinds:
                continue
            timer_id = stable_id(RETENTION_TIMER, organisation, case_id, due_at.isoformat())
            payload: dict[str, Any] = {
                "organisation": organisation,
                "case_id": case_id,
                "person_id": person_id,
                "closed_at": closed_at,
                "record_types": [k.value for k in kinds],
            }
            timers.append(Timer(timer_id, due_at, RETENTION_TIMER, case_id, payload))
        return timers

    async def case_closed(self, envelope: Envelope, data: CaseClosed) -> None:
        """A timer for each moment the case's records fall due (idempotent: derived ids)."""
        if self.timers is None:
            return
        schedule = await self.schedule(envelope.organisation)
        timers = self._retention_timers(
            envelope.organisation, data.case_id, data.person_id, data.closed_at, schedule.periods
        )
        await self.timers.schedule_many(timers)
        log.info("privacy.retention_planned", case_id=data.case_id, timers=len(timers))

    async def _replan(self, organisation: str, periods: dict[RecordType, Period]) -> None:
        """Move the open retention timers of the organisation's closed cases to the new
        periods (types already erased stay erased; only the open timers' types move)."""
        if self.timers is None:
            return
        query = {"kind": RETENTION_TIMER, "fired": False, "payload.organisation": organisation}
        cases: dict[str, dict[str, Any]] = {}
        pending: dict[str, set[RecordType]] = defaultdict(set)
        stale: list[str] = []
        async for timer in self.timers.collection.find(query):
            payload = timer.get("payload") or {}
            if payload.get("organisation") != organisation:
                continue
            case_id = str(payload["case_id"])
            cases[case_id] = payload
            pending[case_id] |= {RecordType(k) for k in payload.get("record_types", [])}
            stale.append(str(timer["_id"]))
        fresh: list[Timer] = []
        for case_id, payload in cases.items():
            fresh += self._retention_timers(
                organisation, case_id, str(payload["person_id"]), payload["closed_at"],
                periods, only=pending[case_id],
            )  # fmt: skip
        keep = {t.timer_id for t in fresh}
        gone = [t for t in stale if t not in keep]
        if gone:
            await self.timers.collection.update_many(
                {"_id": {"$in": gone}, "fired": False},
                {"$set": {"fired": True, "cancelled": True}},
            )
        if fresh:
            await self.timers.schedule_many(fresh)
        log.info("privacy.retention_replanned", cases=len(cases), moved=len(gone))

    async def retention_due(self, timer: Document) -> list[Envelope]:
        """A retention timer fired: record the erasure and return its `ErasureRequested` (the
        scheduler queues it with the timer's claim, so it is published once)."""
        payload = timer["payload"]
        request_id = f"era-{stable_id(str(timer['_id']))}"
        record = ErasureRecord(
            request_id=request_id,
            organisation=payload["organisation"],
            person_id=payload["person_id"],
            basis=ErasureBasis.RETENTION,
            scope=ErasureScope.CASES,
            case_ids=[payload["case_id"]],
            record_types=[RecordType(k) for k in payload["record_types"]],
            reason="retention schedule: the period after the case closed has passed",
            requested_at=self.now,
        )
        uow = UnitOfWork(self.runtime.relay)
        uow.add(self.store.erasure_requests, record)  # skipped if a first firing stored it
        await uow.commit()
        event_id = stable_id(str(timer["_id"]), ErasureRequested.TYPE)
        return [self._erasure_event(record, event_id)]
