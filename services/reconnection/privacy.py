"""Reconnection's answers to subject-access and erasure requests (issue 16), for what it holds.

A reconnection case holds the person's local-connection evidence, eligibility, the destination
authority's contacts, the Part VII application, the presentation pack, risk assessment, travel
plan, budget spends, confidence check, handovers and closure; the learning log may name the
case. Subject access lists each as a record of the bundle, with whom it went to (the
destination authority, the agencies handed over to). Erasure keeps the case for the returns
(ids, codes, areas, dates, amounts, phases) and removes what people typed (notes, evidence
text, contact names, employers, references, learning points).

The pure mapping is `held_records`, `deidentified` and `deidentified_learning`;
`ReconnectionPrivacy` reads and writes; `register` hands it to `shared/privacy_answers.py`,
which reads the requests and answers them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from services.reconnection.decisions import Decision
from services.reconnection.local_connection import (
    LocalConnectionEvidence,
    LocalConnectionResult,
)
from services.reconnection.model import ReconnectionCase
from services.reconnection.service import ReconnectionService
from services.reconnection.views import learning_fields
from shared.events.privacy_events import (
    ErasureRequested,
    ErasureScope,
    HeldRecord,
    RecordType,
    SubjectAccessRequested,
)
from shared.logging import get_logger
from shared.mongo import Document
from shared.privacy_answers import answer_privacy_requests
from shared.runtime import ServiceRuntime

SERVICE = "reconnection"
CASES_HELD_IN = "reconnection/reconnection_cases"
LEARNING_HELD_IN = "reconnection/learning_log"
# What a required text field holds once its words are gone (the model needs some text).
ERASED = "(erased)"
# The case's parts that are records of their own in the bundle.
OWN_RECORDS = (
    "local_connection", "eligibility", "authority_contacts", "part_vii", "pack",
    "risk_assessment", "travel_plan", "budget", "confidence_check", "handovers", "closure",
    "pack_document", "pack_delivery",
)  # fmt: skip
PACKS_HELD_IN = "reconnection/presentation_packs"

log = get_logger(__name__)


# --- the bundle (pure) ------------------------------------------------------------------------


def _moment(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day)


def _data(part: BaseModel) -> dict[str, Any]:
    return part.model_dump(mode="json", exclude_none=True)


def destination(case: ReconnectionCase) -> list[str]:
    """Who the case's evidence and pack went to: the destination authority."""
    named = {c.organisation or c.area for c in case.authority_contacts}
    named |= {a for a in [case.part_vii.authority, case.destination_area] if a}
    return sorted(f"{n}: destination authority" for n in named)


def held_records(case: ReconnectionCase, learning: Sequence[Document] = ()) -> list[HeldRecord]:
    """Every record of one reconnection case and the learning-log entries that name it."""
    since, changed = case.opened_at, case.last_progress_at
    to_destination = destination(case)

    def record(kind: str, suffix: str, data: dict[str, Any], **kw: Any) -> HeldRecord:
        return HeldRecord(
            kind=kind,
            record_id=f"{case.case_id}{suffix}",
            held_in=CASES_HELD_IN,
            held_since=kw.pop("held_since", None) or since,
            last_changed=changed,
            data=data,
            **kw,
        )

    summary = case.model_dump(mode="json", exclude=set(OWN_RECORDS), exclude_none=True)
    referred = [f"{o}: referred the case" for o in [case.referrer_organisation] if o]
    records = [record("reconnection case", "", summary, shared_with=referred)]
    if case.local_connection is not None:
        records.append(
            record(
                "local-connection evidence",
                "/local-connection",
                _data(case.local_connection),
                shared_with=to_destination,
            )
        )
    if case.eligibility is not None:
        records.append(record("eligibility", "/eligibility", _data(case.eligibility)))
    for n, contact in enumerate(case.authority_contacts, start=1):
        authority = contact.organisation or contact.area
        records.append(
            record(
                "destination authority contact",
                f"/authority-contacts/{n}",
                _data(contact),
                held_since=_moment(contact.contacted_on),
                shared_with=[f"{authority}: destination authority"],
            )
        )
    if case.part_vii.status != "not_submitted":
        records.append(
            record(
                "Part VII application",
                "/part-vii",
                _data(case.part_vii),
                held_since=_moment(case.part_vii.submitted_on),
                shared_with=to_destination,
            )
        )
    for item, pack_item in case.pack.items():
        records.append(
            record(
                "presentation pack item",
                f"/pack/{item}",
                {"item": item, **_data(pack_item)},
                held_since=pack_item.at,
                shared_with=to_destination if case.pack_sent_at else [],
            )
        )
    if case.pack_document is not None:
        to = case.pack_document.recipient
        sent_to = [f"{(to.organisation or to.email or to.area) if to else '-'}: presentation pack"]
        delivery = _data(case.pack_delivery) if case.pack_delivery else None
        records.append(
            HeldRecord(
                kind="presentation pack document",
                record_id=case.pack_document.document_id,
                held_in=PACKS_HELD_IN,
                held_since=case.pack_document.generated_at,
                last_changed=case.pack_delivery.at if case.pack_delivery else None,
                data={**_data(case.pack_document), "delivery": delivery},
                shared_with=sent_to if case.pack_delivery else [],
            )
        )
    if case.risk_assessment is not None:
        records.append(record("risk assessment", "/risk-assessment", _data(case.risk_assessment)))
    if case.travel_plan is not None:
        records.append(record("travel plan", "/travel-plan", _data(case.travel_plan)))
    if case.budget.allocated_pence is not None:
        budget = {"allocated_pence": case.budget.allocated_pence}
        records.append(record("budget", "/budget", budget))
    for n, spend in enumerate(case.budget.spends, start=1):
        records.append(
            record(
                "budget spend", f"/budget/spends/{n}", _data(spend), held_since=_moment(spend.on)
            )
        )
    if case.confidence_check is not None:
        records.append(
            record("confidence check", "/confidence-check", _data(case.confidence_check))
        )
    for n, handover in enumerate(case.handovers, start=1):
        agency = handover.organisation or handover.agency
        records.append(
            record(
                "handover",
                f"/handovers/{n}",
                _data(handover),
                held_since=_moment(handover.on),
                shared_with=[f"{agency}: handed over to ({handover.service})"],
            )
        )
    agencies = case.closure.agencies_notified
    notified = [f"{a.organisation or a.name}: notified of the closure" for a in agencies]
    records.append(record("closure", "/closure", _data(case.closure), shared_with=notified))
    for entry in learning:
        records.append(
            HeldRecord(
                kind="learning-log entry",
                record_id=str(entry["_id"]),
                held_in=LEARNING_HELD_IN,
                held_since=entry.get("recorded_at"),
                last_changed=entry.get("recorded_at"),
                data={k: v for k, v in learning_fields(entry).items() if k != "recorded_at"},
            )
        )
    return records


# --- erasure (pure) ---------------------------------------------------------------------------


def _evidence(evidence: LocalConnectionEvidence) -> LocalConnectionEvidence:
    """Areas, dates and relationships stay (the local-connection outcome); employers and the
    words of special circumstances go."""
    return evidence.model_copy(
        update={
            "employment": [e.model_copy(update={"employer": None}) for e in evidence.employment],
            "special_circumstances": [
                s.model_copy(update={"description": ERASED}) for s in evidence.special_circumstances
            ],
        }
    )


def _result(result: LocalConnectionResult) -> LocalConnectionResult:
    # A ground's detail and the notes quote the evidence (an employer, a circumstance).
    def grounds(items: list[Any]) -> list[Any]:
        return [g.model_copy(update={"detail": ERASED}) for g in items]

    candidates = [c.model_copy(update={"grounds": grounds(c.grounds)}) for c in result.candidates]
    excluded = [e.model_copy(update={"grounds": grounds(e.grounds)}) for e in result.excluded]
    update = {"candidates": candidates, "excluded": excluded, "notes": []}
    return result.model_copy(update=update)


def deidentified(case: ReconnectionCase) -> ReconnectionCase:
    """The case as the returns need it: ids, codes, phases, areas, dates, amounts and yes/no
    answers stay; notes, names, employers, references, evidence and review words go.
    Applying it twice gives the same case."""
    c = case.model_copy(deep=True)
    for items in c.checklists.values():
        for key, item in items.items():
            items[key] = item.model_copy(update={"note": None, "reason": None})
    if c.local_connection is not None:
        c.local_connection = c.local_connection.model_copy(
            update={
                "evidence": _evidence(c.local_connection.evidence),
                "result": _result(c.local_connection.result),
            }
        )
    if c.eligibility is not None:
        given = c.eligibility.given.model_copy(update={"id_documents": []})
        c.eligibility = c.eligibility.model_copy(update={"given": given})
    c.authority_contacts = [
        a.model_copy(update={"contact_name": None, "email": None, "notes": None})
        for a in c.authority_contacts
    ]
    if c.pack_document is not None:  # its PDF is deleted (ReconnectionPrivacy.erase)
        recipient = c.pack_document.recipient
        c.pack_document = c.pack_document.model_copy(
            update={
                "letter": ERASED,
                "recipient": recipient.model_copy(update={"name": None, "email": None})
                if recipient
                else None,
                "items": [
                    i.model_copy(update={"note": None, "reason": None})
                    for i in c.pack_document.items
                ],
            }
        )
    c.part_vii = c.part_vii.model_copy(update={"reference": None})
    c.pack = {k: v.model_copy(update={"note": None, "reason": None}) for k, v in c.pack.items()}
    if c.risk_assessment is not None:
        c.risk_assessment = c.risk_assessment.model_copy(update={"mitigations": None})
    if c.travel_plan is not None:
        c.travel_plan = c.travel_plan.model_copy(update={"route": None, "notes": None})
    c.budget.spends = [
        s.model_copy(update={"note": None, "overspend_reason": None}) for s in c.budget.spends
    ]
    if c.confidence_check is not None:
        c.confidence_check = c.confidence_check.model_copy(
            update={"concerns": None, "actions": None}
        )
    c.handovers = [h.model_copy(update={"notes": None}) for h in c.handovers]
    if c.closure.letter is not None:
        c.closure.letter = c.closure.letter.model_copy(
            update={"local_support": ERASED, "crisis_plan": ERASED}
        )
    if c.closure.review is not None:
        c.closure.review = c.closure.review.model_copy(
            update={"highs": [], "lows": [], "summary": None}
        )
    if c.closed is not None:
        c.closed = c.closed.model_copy(update={"note": None})
    return c


def deidentified_learning(entry: Document) -> Document:
    """The `$set` that keeps a learning-log entry as a count of its points, without their
    words (they may name the person). Idempotent."""
    points = entry.get("points") or []
    return {
        "points": [ERASED for _ in points] or [ERASED],
        "highs": [],
        "lows": [],
    }


# --- carrying it out -------------------------------------------------------------------------


class ReconnectionPrivacy:
    """What reconnection holds about a person, and its erasure; `shared/privacy_answers.py`
    reads the requests and sends the answers."""

    def __init__(self, runtime: ServiceRuntime, service: ReconnectionService) -> None:
        self.runtime = runtime
        self.service = service
        self.store = service.store

    async def access(self, request: SubjectAccessRequested) -> list[HeldRecord]:
        cases = await self.store.cases_of_person(request.organisation, request.person_id)
        case_ids = [c.case_id for c in cases]
        learning = await self.store.learning_of_cases(request.organisation, case_ids)
        records: list[HeldRecord] = []
        for case in cases:
            records += held_records(case, [e for e in learning if e.get("case_id") == case.case_id])
        return records

    async def erase(self, request: ErasureRequested) -> tuple[dict[str, int], dict[str, int]]:
        erased: dict[str, int] = {}
        kept: dict[str, int] = {}
        if not request.covers(RecordType.CASEWORK):
            return erased, kept
        only = request.case_ids if request.scope is ErasureScope.CASES else None
        cases = await self.store.cases_of_person(
            request.organisation, request.person_id, request.case_ids, only_cases=only
        )
        for case in cases:
            # `deidentified` is idempotent: a repeated request decides the same case again.
            await self.service.apply(
                case.case_id,
                lambda found, _now: None if found is None else Decision(deidentified(found)),
                organisation=request.organisation,
            )
        case_ids = [c.case_id for c in cases]
        learning = await self.store.learning_of_cases(request.organisation, case_ids)
        await self.store.rewrite_learning(
            {str(e["_id"]): deidentified_learning(e) for e in learning}
        )
        packs = await self.store.delete_packs(request.organisation, case_ids)
        if packs:
            erased["presentation pack document"] = packs
        if cases:
            kept["reconnection case"] = len(cases)
        if learning:
            kept["learning-log entry"] = len(learning)
        subjects = [request.person_id, *request.case_ids, *case_ids]
        removed = await self.runtime.quarantine.erase_subjects(request.organisation, subjects)
        if removed:
            erased["quarantined record"] = removed
        log.info("privacy.reconnection_erased", request_id=request.request_id, kept=kept)
        return erased, kept


def register(runtime: ServiceRuntime, service: ReconnectionService) -> ReconnectionPrivacy:
    """Answer every privacy request of every organisation, even with nothing held."""
    privacy = ReconnectionPrivacy(runtime, service)
    answer_privacy_requests(runtime, SERVICE, privacy.access, privacy.erase)
    return privacy
