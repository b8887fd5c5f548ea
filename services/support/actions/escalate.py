"""The safety net: a TenancyAtRisk or a worker's own flag escalates an open case, once per
higher risk level (the rank guard makes that atomic)."""

from __future__ import annotations

from typing import Any

from services.support.actions.context import SOURCE, SupportContext
from services.support.case_records import action_record
from services.support.dates import iso
from services.support.escalation import RiskSignal, decide_escalation
from services.support.store import OPEN
from shared.codes import RiskLevel
from shared.events.catalogue import CaseEscalated, TenancyAtRisk
from shared.events.envelope import Envelope, follow_on
from shared.mongo import Document


class Escalations:
    def __init__(self, ctx: SupportContext) -> None:
        self.ctx = ctx

    async def tenancy_at_risk(self, envelope: Envelope, data: TenancyAtRisk) -> None:
        cases: list[Document] = []
        if data.case_id:
            named = await self.ctx.store.get(data.case_id)
            if named is not None and named["status"] == OPEN:
                cases = [named]
        if not cases:
            cases = await self.ctx.store.open_cases_for_tenancy(data.tenancy_id)
        signal = RiskSignal(
            risk_level=data.risk_level,
            reasons=tuple(data.reasons),
            source="tenancy_alert",
            legal_stage=data.legal_stage,
            arrears_balance=data.arrears_balance,
            eviction_date=data.eviction_date,
        )
        for case in cases:
            await self.escalate(case, signal, parent=envelope, landlord=data.landlord)

    async def escalate(
        self,
        case: Document,
        signal: RiskSignal,
        *,
        parent: Envelope | None = None,
        landlord: str | None = None,
        flagged_by: str | None = None,
    ) -> Document | None:
        """Escalate once per higher risk level; None when the case is already there."""
        current = case.get("escalation") or {}
        designated = await self.ctx.store.crisis_worker(case["organisation"])
        today = self.ctx.today()
        decision = decide_escalation(
            RiskLevel(current["risk_level"]) if current else None,
            signal,
            lead_worker_id=case["lead_worker_id"],
            designated_crisis_worker=designated,
            current_frequency=case.get("contact_frequency_per_week"),
            today=today,
        )
        if decision is None:
            return None
        data = CaseEscalated(
            case_id=case["_id"],
            risk_level=decision.risk_level,
            reasons=list(decision.reasons),
            crisis_worker_id=decision.crisis_worker_id,
            lead_worker_id=case["lead_worker_id"],
            contact_frequency_per_week=decision.contact_frequency_per_week,
            tenancy_id=case.get("tenancy_id"),
            plan_to_leave=bool(decision.plan_to_leave),
        )
        if parent is not None:
            envelope = follow_on(
                parent,
                data,
                source=SOURCE,
                discriminator=case["_id"],
                time=self.ctx.now(),
                organisation=case["organisation"],
            )
        else:
            envelope = self.ctx.event(case, data)
        record = {
            "risk_level": decision.risk_level.value,
            "reasons": list(decision.reasons),
            "source": signal.source,
            "flagged_by": flagged_by,
            "legal_stage": signal.legal_stage.value,
            "arrears_balance": signal.arrears_balance,
            "eviction_date": iso(signal.eviction_date),
            "crisis_worker_id": decision.crisis_worker_id,
            "crisis_worker_designated": decision.crisis_worker_designated,
            "contact_frequency_per_week": decision.contact_frequency_per_week,
            "tenancy_breaking_down": decision.tenancy_breaking_down,
            "advocacy_actions": [action_record(a) for a in decision.advocacy_actions],
            "plan_to_leave": [action_record(a) for a in decision.plan_to_leave],
            "escalated_on": iso(today),
            "event_id": envelope.id,
        }
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
        guard = {"status": OPEN, "escalation_rank": {"$lt": decision.risk_level.rank}}
        updated = await self.ctx.store.update(
            case["_id"],
            guard,
            update,
            event_id=parent.id if parent else None,
            events=[envelope],
        )
        await self.ctx.flush(updated)
        return updated

    async def flag_risk(
        self, organisation: str, case_id: str, signal: RiskSignal, flagged_by: str
    ) -> tuple[Document, bool]:
        """A worker's own flag. Returns the case and whether it escalated."""
        case = await self.ctx.open_case(organisation, case_id)
        updated = await self.escalate(case, signal, flagged_by=flagged_by)
        if updated is None:
            return await self.ctx.case(organisation, case_id), False
        return updated, True
