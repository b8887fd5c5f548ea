"""Cases opened from CaseAllocated (route=support only) or taken over at a stage (a case that
began before Hearth), and CaseReallocated applied."""

from __future__ import annotations

from typing import Any

from services.support.actions.timers import ReviewTimers
from services.support.case import Reallocation, SupportCase, stored
from services.support.case_records import TakenOver, case_taken_over, new_case
from services.support.errors import CaseworkError, why
from services.support.schemas import OpenCaseIn
from services.support.stages import StageError, check_taken_over, hours_for_stage
from services.support.store import SupportStore
from shared.clock import Clock
from shared.codes import Route
from shared.events.catalogue import CaseAllocated, CaseReallocated
from shared.events.envelope import Envelope


class CaseOpening:
    def __init__(self, store: SupportStore, timers: ReviewTimers, clock: Clock) -> None:
        self.store = store
        self.timers = timers
        self.clock = clock

    async def take_over(self, organisation: str, body: OpenCaseIn) -> SupportCase:
        """Open a case at its stage from the day that stage began (a case that began before
        Hearth); 409 when the id is taken, 422 naming the field a rule refuses."""
        now = self.clock.now()
        support_started_on = body.support_started_on or body.started_on
        try:
            check_taken_over(body.started_on, support_started_on, now.date())
            hours = hours_for_stage(body.stage, body.target_hours_per_week, None)
        except StageError as exc:
            raise CaseworkError(422, exc.field, why(exc)) from exc
        case = case_taken_over(
            TakenOver(
                case_id=body.case_id,
                organisation=organisation,
                person_id=body.person_id,
                stage=body.stage,
                started_on=body.started_on,
                support_started_on=support_started_on,
                target_hours_per_week=hours,
                lead_worker_id=body.lead_worker_id,
                team_id=body.team_id,
                team_leader_id=body.team_leader_id,
                support_needs=tuple(body.support_needs),
                referrer_organisation=body.referrer_organisation,
            ),
            now,
        )
        uow = self.store.unit()
        uow.add(self.store.repository, case)
        committed = await uow.commit()
        if body.case_id not in committed.written:
            raise CaseworkError(409, "case_id", f"a case {body.case_id!r} exists already")
        await self.timers.sync(case)
        return case

    async def open_many(self, allocations: list[tuple[Envelope, CaseAllocated]]) -> None:
        """Open the support-route cases of CaseAllocated events: one insert (a redelivered
        case stands) and one insert of their review timers - an arrears batch allocates
        thousands of prevention cases. Only a redelivered case is read back, as it may have
        moved on since it opened."""
        opened = {
            data.case_id: (envelope.id, new_case(envelope, data))
            for envelope, data in reversed(allocations)  # the first of a case stands
            if data.route is Route.SUPPORT
        }
        if not opened:
            return
        uow = self.store.unit()
        uow.add_many(
            self.store.repository,
            (case for _, case in opened.values()),
            event_ids={case_id: event_id for case_id, (event_id, _) in opened.items()},
        )
        written = (await uow.commit()).written
        created = [case for case_id, (_, case) in opened.items() if case_id in written]
        await self.timers.schedule_new(created)
        redelivered = [case_id for case_id in opened if case_id not in written]
        if redelivered:
            # As stored: a redelivered case may have moved on since it opened.
            await self.timers.sync_many(await self.store.cases_by_id(redelivered))

    async def reallocate(self, envelope: Envelope, data: CaseReallocated) -> None:
        case = await self.store.case(data.case_id)
        if case is None:
            return  # a reconnection case, not ours
        moved = Reallocation(
            from_worker_id=data.previous_worker_id,
            to=data.lead_worker_id,
            reason=data.reason,
            cover_until=data.cover_until,
            at=envelope.time,
        )
        fields: dict[str, Any] = {
            "lead_worker_id": data.lead_worker_id,
            "lead_worker_email": data.lead_worker_email,
            "team_leader_id": data.team_leader_id,
            "team_leader_email": data.team_leader_email,
        }
        if case.escalation and not case.escalation.crisis_worker_designated:
            fields["crisis_worker_id"] = data.lead_worker_id  # lead stands in
        uow = self.store.unit()
        uow.change(
            self.store.repository,
            data.case_id,
            {"$set": fields, "$push": {"reallocations": stored(moved)}},
            event_id=envelope.id,
        )
        await uow.commit()
