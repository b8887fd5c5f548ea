"""The safety net: a TenancyAtRisk or a worker's own flag escalates an open case, once per
higher risk level (the rank guard makes that atomic)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.support.case import OPEN, EscalationRecord, SupportCase, stored
from services.support.case_records import SOURCE, action_record, fact
from services.support.errors import found, still_open
from services.support.escalation import RiskSignal, decide_escalation
from services.support.store import SupportStore
from shared.clock import Clock
from shared.events.catalogue import CaseEscalated, TenancyAtRisk
from shared.events.envelope import Envelope, follow_on
from shared.unit_of_work import UnitOfWork


class Escalations:
    def __init__(self, store: SupportStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def tenancy_at_risk(self, envelope: Envelope, data: TenancyAtRisk) -> None:
        await self.tenancies_at_risk([(envelope, data)])

    async def tenancies_at_risk(self, batch: list[tuple[Envelope, TenancyAtRisk]]) -> None:
        """A poll's TenancyAtRisk in three reads and one unit of work, whatever its size: the
        cases named, the open cases of its tenancies, the organisations' crisis workers.
        Events apply in order: a case escalated by one is decided on as it left it by the
        next (the rank guard and each event's inbox make a repeat or a race change nothing)."""
        named = {
            case.case_id: case
            for case in await self.store.cases_by_id({d.case_id for _, d in batch if d.case_id})
        }
        by_tenancy = await self.store.open_cases_for_tenancies(d.tenancy_id for _, d in batch)
        organisations = {c.organisation for c in named.values()}
        organisations |= {c.organisation for cases in by_tenancy.values() for c in cases}
        designated = await self.store.crisis_workers(organisations)
        now = self.clock.now()
        escalated: dict[str, SupportCase] = {}  # as this poll's escalations leave them
        uow = self.store.unit()
        for envelope, data in batch:
            cases: list[SupportCase] = []
            if data.case_id:
                case = escalated.get(data.case_id) or named.get(data.case_id)
                if case is not None and case.is_open:
                    cases = [case]
            if not cases:
                # Only the landlord's own cases by tenancy: another organisation's case hears
                # of this tenancy only when the referral service named it, under a
                # tenancy-data agreement (shared/agreements.py).
                cases = [
                    escalated.get(c.case_id, c)
                    for c in by_tenancy.get(data.tenancy_id, [])
                    if c.organisation == envelope.organisation
                ]
            signal = RiskSignal(
                risk_level=data.risk_level,
                reasons=tuple(data.reasons),
                source="tenancy_alert",
                legal_stage=data.legal_stage,
                arrears_balance=data.arrears_balance,
                eviction_date=data.eviction_date,
            )
            for case in cases:
                after = self.stage_escalation(
                    uow,
                    case,
                    signal,
                    designated.get(case.organisation),
                    now,
                    parent=envelope,
                    landlord=data.landlord,
                )
                if after is not None:
                    escalated[case.case_id] = after
        await uow.commit()

    async def escalate(
        self,
        case: SupportCase,
        signal: RiskSignal,
        *,
        parent: Envelope | None = None,
        landlord: str | None = None,
        flagged_by: str | None = None,
    ) -> SupportCase | None:
        """Escalate once per higher risk level; None when the case is already there."""
        designated = await self.store.crisis_worker(case.organisation)
        uow = self.store.unit()
        staged = self.stage_escalation(
            uow,
            case,
            signal,
            designated,
            self.clock.now(),
            parent=parent,
            landlord=landlord,
            flagged_by=flagged_by,
        )
        if staged is None:
            return None
        return (await uow.commit()).model(self.store.repository, case.case_id)

    def stage_escalation(
        self,
        uow: UnitOfWork,
        case: SupportCase,
        signal: RiskSignal,
        designated: str | None,
        now: datetime,
        *,
        parent: Envelope | None = None,
        landlord: str | None = None,
        flagged_by: str | None = None,
    ) -> SupportCase | None:
        """Stage the escalation a signal causes, once per higher risk level; the case as it
        leaves it, or None when the case is already there."""
        current = case.escalation
        today = now.date()
        decision = decide_escalation(
            current.risk_level if current else None,
            signal,
            lead_worker_id=case.lead_worker_id,
            designated_crisis_worker=designated,
            current_frequency=case.contact_frequency_per_week,
            today=today,
        )
        if decision is None:
            return None
        data = CaseEscalated(
            case_id=case.case_id,
            risk_level=decision.risk_level,
            reasons=list(decision.reasons),
            crisis_worker_id=decision.crisis_worker_id,
            lead_worker_id=case.lead_worker_id,
            contact_frequency_per_week=decision.contact_frequency_per_week,
            tenancy_id=case.tenancy_id,
            plan_to_leave=bool(decision.plan_to_leave),
        )
        if parent is not None:
            envelope = follow_on(
                parent,
                data,
                source=SOURCE,
                discriminator=case.case_id,
                time=now,
                organisation=case.organisation,
            )
        else:
            envelope = fact(case, data, now)
        escalation = EscalationRecord(
            risk_level=decision.risk_level,
            reasons=list(decision.reasons),
            source=signal.source,
            flagged_by=flagged_by,
            legal_stage=signal.legal_stage,
            arrears_balance=signal.arrears_balance,
            eviction_date=signal.eviction_date,
            crisis_worker_id=decision.crisis_worker_id,
            crisis_worker_designated=decision.crisis_worker_designated,
            contact_frequency_per_week=decision.contact_frequency_per_week,
            tenancy_breaking_down=decision.tenancy_breaking_down,
            advocacy_actions=[action_record(a) for a in decision.advocacy_actions],
            plan_to_leave=[action_record(a) for a in decision.plan_to_leave],
            escalated_on=today,
            event_id=envelope.id,
        )
        record = stored(escalation)
        update: dict[str, Any] = {
            "$set": {
                "escalation": record,
                "escalation_rank": decision.risk_level.rank,
                "crisis_worker_id": decision.crisis_worker_id,
                "contact_frequency_per_week": decision.contact_frequency_per_week,
            },
            "$push": {"escalations": record},
        }
        if landlord:
            update["$addToSet"] = {"landlords": landlord}
        # The rank guard: of two signals at one level, racing or redelivered, one escalates.
        uow.change(
            self.store.repository,
            case.case_id,
            update,
            [envelope],
            event_id=parent.id if parent else None,
            guard={"status": OPEN, "escalation_rank": {"$lt": decision.risk_level.rank}},
        )
        return case.model_copy(
            update={
                "escalation": escalation,
                "escalation_rank": decision.risk_level.rank,
                "crisis_worker_id": decision.crisis_worker_id,
                "contact_frequency_per_week": decision.contact_frequency_per_week,
                "escalations": [*case.escalations, escalation],
                "landlords": case.landlords
                + ([landlord] if landlord and landlord not in case.landlords else []),
            }
        )

    async def flag_risk(
        self, organisation: str, case_id: str, signal: RiskSignal, flagged_by: str
    ) -> tuple[SupportCase, bool]:
        """A worker's own flag. Returns the case and whether it escalated."""
        case = still_open(await self.store.case(case_id, organisation), case_id)
        updated = await self.escalate(case, signal, flagged_by=flagged_by)
        if updated is None:
            return found(await self.store.case(case_id, organisation), case_id), False
        return updated, True
