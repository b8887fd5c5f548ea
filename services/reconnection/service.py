"""Carrying out decisions on the shared unit of work: load a case (typed), let a pure function
decide, then save the new state with its events and schedule its timers, deciding again when
another writer changed the case first (`shared.unit_of_work.attempt`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.reconnection.actions import involved_organisations
from services.reconnection.decisions import Decision, Fact, NotFound
from services.reconnection.model import ReconnectionCase
from services.reconnection.schemas import LearningEntryIn
from services.reconnection.store import CaseStore
from services.reconnection.views import LearningEntry
from shared.codes import Route
from shared.events.base import EventData
from shared.events.catalogue import CaseClosed, LearningPointsRecorded, ReconnectionPhaseChanged
from shared.events.envelope import Envelope, follow_on, make_event
from shared.ids import new_id, stable_id
from shared.locks import KeyedLocks
from shared.runtime import ServiceRuntime
from shared.timers import TimerStore
from shared.unit_of_work import ConcurrentUpdate, UnitOfWork, attempt

SOURCE = "reconnection"

Decide = Callable[[ReconnectionCase | None, datetime], Decision | None]


class ReconnectionService:
    def __init__(self, runtime: ServiceRuntime, store: CaseStore, timers: TimerStore) -> None:
        self.runtime = runtime
        self.store = store
        self.timers = timers
        self.locks = KeyedLocks()

    async def get(self, case_id: str, organisation: str) -> ReconnectionCase:
        loaded = await self.store.get(case_id)
        if loaded is None or loaded.model.organisation != organisation:
            raise NotFound(f"case_id: no reconnection case {case_id}")
        return loaded.model

    async def apply(
        self,
        case_id: str,
        decide: Decide,
        *,
        cause: Envelope | None = None,
        organisation: str | None = None,
        create: bool = False,
    ) -> ReconnectionCase | None:
        """Apply `decide` once. With `cause` (a consumed event) a missing case may be created
        and a repeat of the event changes nothing; with `organisation` the case must be theirs;
        with `create` (a caller opening a case) a missing case may be created and `decide`
        sees any case, to refuse another organisation's."""
        event_id = cause.id if cause else None

        async def step(uow: UnitOfWork) -> tuple[ReconnectionCase | None, Decision | None]:
            loaded = await self.store.get(case_id)
            if loaded is None and cause is None and not create:
                raise NotFound(f"case_id: no reconnection case {case_id}")
            if (
                loaded is not None
                and organisation
                and not create
                and loaded.model.organisation != organisation
            ):
                raise NotFound(f"case_id: no reconnection case {case_id}")
            if loaded is not None and loaded.has_seen(event_id):
                return loaded.model, None
            now = self.runtime.clock.now()
            decision = decide(loaded.model if loaded else None, now)
            if decision is None:
                return (loaded.model if loaded else None), None
            envelopes = self.envelopes(decision, cause, now)
            # Timers first: a timer whose case change was lost finds nothing to do when it fires.
            for timer in decision.timers:
                await self.timers.schedule(
                    timer.timer_id, timer.due_at, timer.kind, case_id, **timer.payload
                )
            if loaded is None:
                uow.add(self.store.repository, decision.case, envelopes, event_id=event_id)
            else:
                uow.save(self.store.repository, loaded, decision.case, envelopes, event_id=event_id)
            return decision.case, decision

        async with self.locks.hold(case_id):
            try:
                (case, decision), committed = await attempt(self.runtime.relay, step)
            except ConcurrentUpdate as exc:
                raise ConcurrentUpdate("case_id: the case changed concurrently; try again") from exc
        if decision is not None and decision.closed and committed.written:
            await self.timers.cancel_for(case_id)  # a closed case's pack and reviews are never due
        if committed.repeats:  # the event was applied meanwhile: show the case as it is
            loaded = await self.store.get(case_id)
            return loaded.model if loaded else None
        return case

    async def log_learning(
        self,
        organisation: str,
        entry: LearningEntryIn,
        now: datetime,
        case: ReconnectionCase | None = None,
    ) -> LearningEntry:
        """Store a learning-log entry with its LearningPointsRecorded (themes and a count of
        points, never their words), whose id is derived from the entry's."""
        stored = LearningEntry(
            id=new_id("learning"), organisation=organisation, recorded_at=now, **entry.model_dump()
        )
        data = LearningPointsRecorded(
            entry_id=stored.id,
            case_id=stored.case_id,
            recorded_on=now.date(),
            points=len(stored.points),
            themes=stored.themes,
        )
        event = make_event(
            data,
            source=SOURCE,
            organisation=organisation,
            correlation_id=case.correlation_id if case else None,
            event_id=stable_id(stored.id, SOURCE, LearningPointsRecorded.TYPE),
            time=now,
        )
        uow = UnitOfWork(self.runtime.relay)
        uow.add(self.store.learning_log, stored, [event])
        await uow.commit()
        return stored

    def envelopes(
        self, decision: Decision, cause: Envelope | None, now: datetime
    ) -> list[Envelope]:
        case = decision.case
        out: list[Envelope] = []
        for previous, phase in decision.phase_changes:
            data = ReconnectionPhaseChanged(
                case_id=case.case_id,
                previous_phase=previous.value if previous else None,
                phase=phase.value,
                changed_on=now.date(),
                destination_area=case.destination_area,
            )
            out.append(self._envelope(case, data, cause, f"{previous}>{phase}", now))
        if decision.closed and case.closed is not None:
            letter = case.closure.letter  # Tool 4, step 7: the case's own, for the letter
            closed = CaseClosed(
                case_id=case.case_id,
                person_id=case.person_id or case.case_id,
                route=Route.RECONNECTION,
                reason=case.closed.reason,
                closed_at=case.closed.at,
                lead_worker_id=case.lead_worker_id,
                involved_organisations=involved_organisations(case),
                local_support=letter.local_support if letter else None,
                crisis_support=letter.crisis_plan if letter else None,
            )
            out.append(self._envelope(case, closed, cause, "closed", now))
        for fact in decision.facts:
            out.append(self._fact(case, fact, cause, now))
        return out

    @staticmethod
    def _fact(
        case: ReconnectionCase, fact: Fact, cause: Envelope | None, now: datetime
    ) -> Envelope:
        """A fact's id is derived from the case and its key, so a retried request (or a
        redelivered cause) yields the same id and nothing new downstream."""
        if cause is not None:
            return follow_on(cause, fact.data, source=SOURCE, discriminator=fact.key, time=now)
        return make_event(
            fact.data,
            source=SOURCE,
            organisation=case.organisation,
            correlation_id=case.correlation_id,
            event_id=stable_id(case.case_id, SOURCE, type(fact.data).TYPE, fact.key),
            time=now,
        )

    @staticmethod
    def _envelope(
        case: ReconnectionCase,
        data: EventData,
        cause: Envelope | None,
        discriminator: str,
        now: datetime,
    ) -> Envelope:
        if cause is not None:
            return follow_on(cause, data, source=SOURCE, discriminator=discriminator, time=now)
        return make_event(
            data,
            source=SOURCE,
            organisation=case.organisation,
            correlation_id=case.correlation_id,
            time=now,
        )
