"""What the API shows: a case's state plus what the rules derive from it today, and the
learning log's entries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from services.reconnection import checklists, pack, pack_document
from services.reconnection.actions import closure_assessment
from services.reconnection.closure_checklist import ClosureAssessment
from services.reconnection.model import ItemStatus, PackItem, PackRecipient, ReconnectionCase
from services.reconnection.phases import INTENSIVE_SUPPORT_MAX_MONTHS, Phase, index
from services.reconnection.schemas import LearningEntryIn
from shared.dates import add_months


class ChecklistItemView(BaseModel):
    id: str
    text: str
    required: bool
    status: ItemStatus
    ticked_by_case: bool
    may_not_apply: bool
    note: str | None = None
    reason: str | None = None


class PhaseChecklistView(BaseModel):
    phase: Phase
    items: list[ChecklistItemView]
    open_required: list[str]


class PackItemView(BaseModel):
    item: PackItem
    description: str
    status: ItemStatus
    always_needed: bool
    reason: str | None = None


class BudgetView(BaseModel):
    allocated_pence: int | None
    spent_pence: int
    remaining_pence: int | None
    overspent: bool


class CaseView(BaseModel):
    case: ReconnectionCase
    checklists: list[PhaseChecklistView]
    presentation_pack: list[PackItemView]
    presentation_pack_complete: bool
    presentation_pack_sends_at: datetime | None
    # Who the pack is emailed to (the destination's contact with an email); none: it cannot go.
    presentation_pack_goes_to: PackRecipient | None
    budget: BudgetView
    closure_checklist: ClosureAssessment | None
    intensive_support_until: date | None  # 72 hours to 3 months after reconnection
    days_without_progress: int


class CaseSummary(BaseModel):
    case_id: str
    phase: Phase
    open: bool
    lead_worker_id: str | None
    destination_area: str | None
    reconnection_date: date | None
    days_without_progress: int


def _checklist(case: ReconnectionCase, phase: Phase, facts: set[str]) -> PhaseChecklistView:
    records = case.checklists.get(phase.value, {})
    items = []
    for item in checklists.CHECKLISTS[phase]:
        record = records.get(item.id)
        items.append(
            ChecklistItemView(
                id=item.id,
                text=item.text,
                required=item.required,
                status=checklists.status_of(item, record, facts),
                ticked_by_case=item.evidence is not None,
                may_not_apply=item.may_not_apply,
                note=record.note if record else None,
                reason=record.reason if record else None,
            )
        )
    open_required = [i.id for i in items if i.required and i.status is ItemStatus.OPEN]
    return PhaseChecklistView(phase=phase, items=items, open_required=open_required)


def case_view(case: ReconnectionCase, now: datetime) -> CaseView:
    facts = checklists.evidence(case)
    reached = [p for p in Phase if index(p) <= index(case.phase)]
    spent = case.budget.spent_pence
    allocated = case.budget.allocated_pence
    return CaseView(
        case=case,
        checklists=[_checklist(case, p, facts) for p in reached],
        presentation_pack=[
            PackItemView(
                item=item,
                description=pack.DESCRIPTIONS[item],
                status=case.pack[item.value].status if item.value in case.pack else ItemStatus.OPEN,
                always_needed=not pack.may_not_apply(item),
                reason=case.pack[item.value].reason if item.value in case.pack else None,
            )
            for item in PackItem
        ],
        presentation_pack_complete=pack.is_complete(case.pack),
        presentation_pack_sends_at=pack.sent_at(case.reconnection_date)
        if case.reconnection_date
        else None,
        presentation_pack_goes_to=pack_document.recipient(case),
        budget=BudgetView(
            allocated_pence=allocated,
            spent_pence=spent,
            remaining_pence=None if allocated is None else allocated - spent,
            overspent=allocated is not None and spent > allocated,
        ),
        closure_checklist=closure_assessment(case, now)
        if case.phase is Phase.CASE_CLOSURE_AND_REVIEW
        else None,
        intensive_support_until=add_months(case.reconnected_on, INTENSIVE_SUPPORT_MAX_MONTHS)
        if case.reconnected_on
        else None,
        days_without_progress=max(0, (now - case.last_progress_at).days),
    )


def summary(case: ReconnectionCase, now: datetime) -> CaseSummary:
    return CaseSummary(
        case_id=case.case_id,
        phase=case.phase,
        open=case.is_open,
        lead_worker_id=case.lead_worker_id,
        destination_area=case.destination_area,
        reconnection_date=case.reconnection_date,
        days_without_progress=max(0, (now - case.last_progress_at).days),
    )


class LearningEntry(LearningEntryIn):
    id: str
    organisation: str
    recorded_at: datetime


def learning_entry(document: dict[str, Any]) -> LearningEntry:
    """An entry as stored, without the bookkeeping kept beside it (version, inbox, outbox)."""
    return LearningEntry(id=document["_id"], **learning_fields(document))


def learning_fields(document: dict[str, Any]) -> dict[str, Any]:
    """The entry's own fields of a stored learning-log document."""
    return {k: v for k, v in document.items() if not k.startswith("_") and k != "version"}
