"""Support's answers to subject-access and erasure requests (issue 16), for what it holds itself.

A case document holds everything support knows about a person: the case, its assessment, plan
with goals, contact log, files, reviews, escalations and closure. Subject access lists each as
a record of the bundle; erasure keeps the case de-identified for the statutory returns and
outcomes (ids, codes, dates, counts, hours) and removes what people typed about the person
(notes, goals' wording, evaluations), file names and the tenancy reference.

The pure mapping is `held_records` and `deidentified`; `SupportPrivacy` reads and writes;
`register` hands it to `shared/privacy_answers.py`, which reads the requests and answers them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from services.support.case import (
    Contact,
    FileRecord,
    PlanActionRecord,
    PlanGoal,
    Review,
    SupportCase,
)
from services.support.store import TIMERS, SupportStore
from shared.events.privacy_events import (
    ErasureRequested,
    ErasureScope,
    HeldRecord,
    RecordType,
    SubjectAccessRequested,
)
from shared.logging import get_logger
from shared.privacy_answers import answer_privacy_requests
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, attempt

SERVICE = "support"
CASES_HELD_IN = "support/cases"
OWN_RECORDS = ("assessment", "plan", "contacts", "files", "reviews", "escalations", "closure")
TIMERS_HELD_IN = f"support/{TIMERS}"

log = get_logger(__name__)


# --- the bundle: what support holds, record by record (pure) ----------------------------------


def _data(part: BaseModel, *exclude: str) -> dict[str, Any]:
    return part.model_dump(mode="json", exclude=set(exclude), exclude_none=True)


def _moment(day: date | datetime | None) -> datetime | None:
    if day is None or isinstance(day, datetime):
        return day
    return datetime(day.year, day.month, day.day)


def last_changed(case: SupportCase) -> datetime | None:
    """The latest moment the case records a change at (the document keeps no write time)."""
    moments: list[datetime | None] = [case.opened_at, case.closed_at]
    moments += [c.logged_at for c in case.contacts] + [f.recorded_at for f in case.files]
    moments += [r.at for r in case.reallocations]
    days: list[date | None] = [case.stage_started_on]
    days += [r.completed_on for r in case.reviews.values()]
    days += [e.escalated_on for e in case.escalations]
    days += [case.plan.agreed_on or case.plan.drafted_on] if case.plan else []
    days += [case.closure.closed_on] if case.closure else []
    found = [m for m in moments if m] + [_moment(d) for d in days if d]
    aware = [m.replace(tzinfo=None) for m in found if m is not None]
    return max(aware) if aware else None


def held_records(case: SupportCase, timers: list[dict[str, Any]] | None = None) -> list[HeldRecord]:
    """Every record of one support case, with its data, as the person's bundle shows it."""
    since = case.opened_at or _moment(case.support_started_on)
    changed = last_changed(case)

    def record(kind: str, record_id: str, data: dict[str, Any], **kw: Any) -> HeldRecord:
        return HeldRecord(
            kind=kind,
            record_id=record_id,
            held_in=CASES_HELD_IN,
            held_since=kw.pop("held_since", since),
            last_changed=kw.pop("last_changed", changed),
            data=data,
            **kw,
        )

    # The parts with records of their own are left out of the case's own record.
    summary = _data(case, *OWN_RECORDS)
    shared = [f"{o}: referred the case" for o in [case.referrer_organisation] if o]
    records = [record("support case", case.case_id, summary, shared_with=shared)]
    if case.assessment is not None:
        records.append(
            record(
                "needs assessment",
                f"{case.case_id}/assessment",
                _data(case.assessment),
                held_since=_moment(case.assessment.recorded_on),
            )
        )
    if case.plan is not None:
        records.append(
            record(
                "support plan",
                f"{case.case_id}/plan/{case.plan.plan_id}",
                _data(case.plan),
                held_since=_moment(case.plan.drafted_on),
            )
        )
    for contact in case.contacts:
        records.append(
            record(
                "contact-log entry",
                f"{case.case_id}/contacts/{contact.contact_id}",
                _data(contact),
                held_since=contact.logged_at,
                last_changed=contact.logged_at,
            )
        )
    for file in case.files:
        records.append(
            record(
                "file received",
                f"{case.case_id}/files/{file.file_id}",
                _data(file),
                held_since=file.recorded_at,
                last_changed=file.recorded_at,
            )
        )
    for review in case.reviews.values():
        records.append(
            record(
                "review",
                f"{case.case_id}/reviews/{review.review_id}",
                _data(review),
                last_changed=_moment(review.completed_on) or changed,
            )
        )
    for escalation in case.escalations:
        landlords = [f"{o}: escalation to the landlord" for o in case.landlords]
        records.append(
            record(
                "escalation",
                f"{case.case_id}/escalations/{escalation.event_id}",
                _data(escalation),
                held_since=_moment(escalation.escalated_on),
                shared_with=landlords,
            )
        )
    if case.closure is not None:
        records.append(
            record(
                "closure and evaluation",
                f"{case.case_id}/closure",
                _data(case.closure),
                held_since=_moment(case.closure.closed_on),
            )
        )
    for timer in timers or []:
        records.append(
            HeldRecord(
                kind="review timer",
                record_id=str(timer["_id"]),
                held_in=TIMERS_HELD_IN,
                held_since=timer.get("due_at"),
                data={k: v for k, v in timer.items() if k in ("kind", "due_at", "fired")},
            )
        )
    return records


# --- erasure: the case kept for the returns, without what identifies the person (pure) --------


ERASED = ""  # what a required text field holds once its words are gone


def _contact(contact: Contact) -> Contact:
    return contact.model_copy(update={"notes": None})


def _file(file: FileRecord) -> FileRecord:
    return file.model_copy(update={"filename": ERASED, "description": None, "storage_ref": None})


def _action(action: PlanActionRecord) -> PlanActionRecord:
    notes = [n.model_copy(update={"note": None}) for n in action.notes] if action.notes else None
    return action.model_copy(update={"description": ERASED, "notes": notes})


def _goal(goal: PlanGoal) -> PlanGoal:
    return goal.model_copy(update={"goal": ERASED, "actions": [_action(a) for a in goal.actions]})


def _review(review: Review) -> Review:
    return review.model_copy(update={"notes": None})


def deidentified(case: SupportCase) -> SupportCase:
    """The case as the statutory returns and outcomes need it: ids, codes, dates, counts and
    hours stay; notes, goals' and actions' wording, evaluations, file names and the tenancy
    reference go. Applying it twice gives the same case."""
    update: dict[str, Any] = {
        "tenancy_id": None,
        "contacts": [_contact(c) for c in case.contacts],
        "files": [_file(f) for f in case.files],
        "reviews": {rid: _review(r) for rid, r in case.reviews.items()},
        "limit_overrides": [
            o.model_copy(update={"justification": ERASED}) for o in case.limit_overrides
        ],
    }
    if case.assessment is not None:
        needs = [n.model_copy(update={"notes": None}) for n in case.assessment.needs]
        update["assessment"] = case.assessment.model_copy(
            update={"needs": needs, "risks": None, "referrals_to_specialists": []}
        )
    if case.plan is not None:
        update["plan"] = case.plan.model_copy(update={"goals": [_goal(g) for g in case.plan.goals]})
    if case.closure is not None:
        evaluation = case.closure.evaluation
        if evaluation is not None:
            evaluation = evaluation.model_copy(
                update={"what_happened": ERASED, "what_could_have_prevented_it": ERASED}
            )
        update["closure"] = case.closure.model_copy(
            update={"notes": None, "evaluation": evaluation}
        )
    return case.model_copy(update=update)


# --- carrying it out -------------------------------------------------------------------------


class SupportPrivacy:
    """What support holds about a person, and its erasure; `shared/privacy_answers.py` reads
    the requests and sends the answers."""

    def __init__(self, runtime: ServiceRuntime, store: SupportStore) -> None:
        self.runtime = runtime
        self.store = store
        self.timers = runtime.db[TIMERS]

    async def access(self, request: SubjectAccessRequested) -> list[HeldRecord]:
        cases = await self.store.cases_of_person(request.organisation, request.person_id)
        records: list[HeldRecord] = []
        for case in cases:
            timers = self.timers.find(
                {"subject": case.case_id}, {"kind": 1, "due_at": 1, "fired": 1}
            )
            records += held_records(case, [t async for t in timers])
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
            await self._deidentify(case.case_id)
        if cases:
            kept["support case"] = len(cases)
        subjects = [request.person_id, *request.case_ids, *(c.case_id for c in cases)]
        removed = await self.runtime.quarantine.erase_subjects(request.organisation, subjects)
        if removed:
            erased["quarantined record"] = removed
        log.info("privacy.support_erased", request_id=request.request_id, kept=kept)
        return erased, kept

    async def _deidentify(self, case_id: str) -> None:
        """One case de-identified in one guarded write (decided again if a caseworker changed
        it meanwhile); `deidentified` is idempotent, so a repeated request changes nothing."""

        async def step(uow: UnitOfWork) -> None:
            loaded = await self.store.load(case_id)
            if loaded is not None:
                uow.save(self.store.repository, loaded, deidentified(loaded.model))

        await attempt(self.runtime.relay, step)


def register(runtime: ServiceRuntime, store: SupportStore) -> SupportPrivacy:
    """Answer every privacy request of every organisation, even with nothing held."""
    privacy = SupportPrivacy(runtime, store)
    answer_privacy_requests(runtime, SERVICE, privacy.access, privacy.erase)
    return privacy
