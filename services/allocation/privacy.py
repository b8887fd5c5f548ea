"""Allocation's answers to subject-access and erasure requests (issue 16), for what it holds.

Allocation knows a person only through their cases: the waiting-list entry (needs, risk and
legal stage, priority facts, the tenancy it is about), the allocation and its history, the
tenancy alerts recorded on it, and a review weighed against the waiting list. Erasure keeps
every entry for the returns (ids, codes, dates, hours) and removes the tenancy reference, the
one value here that points at the person.

The pure mapping is `held_records` and `deidentifying_update`; `AllocationPrivacy` reads and
writes; `register` hands it to `shared/privacy_answers.py`, which reads the requests and
answers them (every service the same way).
"""

from __future__ import annotations

from datetime import datetime

from services.allocation.records import CaseEntry, Review
from services.allocation.store import AllocationStore
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
from shared.unit_of_work import UnitOfWork

SERVICE = "allocation"

log = get_logger(__name__)


# --- the bundle (pure) ------------------------------------------------------------------------


def last_changed(entry: CaseEntry) -> datetime | None:
    moments = [entry.received_at, entry.waiting_since, entry.closed_at]
    moments += [a.allocated_at for a in entry.history] + [s.at for s in entry.risk_signals]
    found = [m for m in moments if m is not None]
    return max(found) if found else None


def held_records(entry: CaseEntry, review: Review | None = None) -> list[HeldRecord]:
    """The case's waiting-list entry, each allocation and each tenancy alert on it, and the
    review weighed against the waiting list."""
    since = entry.received_at or entry.waiting_since
    changed = last_changed(entry)
    data = entry.model_dump(
        mode="json", exclude={"history", "risk_signals", "allocation"}, exclude_none=True
    )
    shared = [f"{o}: referred the case" for o in [entry.referrer_organisation] if o]
    records = [
        HeldRecord(
            kind="waiting-list entry",
            record_id=entry.case_id,
            held_in="allocation/cases",
            held_since=since,
            last_changed=changed,
            data=data,
            shared_with=shared,
        )
    ]
    for number, allocation in enumerate(entry.history, start=1):
        records.append(
            HeldRecord(
                kind="allocation",
                record_id=f"{entry.case_id}/allocations/{number}",
                held_in="allocation/cases",
                held_since=allocation.allocated_at,
                last_changed=allocation.allocated_at,
                data=allocation.model_dump(mode="json", exclude_none=True),
            )
        )
    for number, signal in enumerate(entry.risk_signals, start=1):
        records.append(
            HeldRecord(
                kind="tenancy alert",
                record_id=f"{entry.case_id}/risk-signals/{number}",
                held_in="allocation/cases",
                held_since=signal.at,
                last_changed=signal.at,
                data=signal.model_dump(mode="json", exclude_none=True),
            )
        )
    if review is not None:
        records.append(
            HeldRecord(
                kind="review weighed against the waiting list",
                record_id=f"{review.case_id}/reviews/{review.review_id}",
                held_in="allocation/reviews",
                held_since=review.recorded_at,
                last_changed=review.recorded_at,
                data=review.model_dump(mode="json", exclude_none=True),
            )
        )
    return records


# --- erasure (pure) ---------------------------------------------------------------------------


def deidentifying_update(entry: CaseEntry) -> Document:
    """The update that leaves the entry with ids, codes, dates and hours only: the tenancy
    reference goes from the entry and from each tenancy alert on it. Each alert is changed by
    its position, so a signal recorded meanwhile is never overwritten. Idempotent."""
    unset = {"tenancy_id": ""}
    unset.update({f"risk_signals.{n}.tenancy_id": "" for n in range(len(entry.risk_signals))})
    return {"$unset": unset}


def needs_deidentifying(entry: CaseEntry) -> bool:
    return entry.tenancy_id is not None or any(s.tenancy_id for s in entry.risk_signals)


# --- carrying it out -------------------------------------------------------------------------


class AllocationPrivacy:
    """What allocation holds about a person, and its erasure; `shared/privacy_answers.py`
    reads the requests and sends the answers."""

    def __init__(self, runtime: ServiceRuntime, store: AllocationStore) -> None:
        self.runtime = runtime
        self.store = store

    async def access(self, request: SubjectAccessRequested) -> list[HeldRecord]:
        entries = await self.store.cases_of_person(request.organisation, request.person_id)
        case_ids = [e.case_id for e in entries]
        reviews = await self.store.reviews_of_cases(request.organisation, case_ids)
        records: list[HeldRecord] = []
        for entry in entries:
            records += held_records(entry, reviews.get(entry.case_id))
        return records

    async def erase(self, request: ErasureRequested) -> tuple[dict[str, int], dict[str, int]]:
        erased: dict[str, int] = {}
        kept: dict[str, int] = {}
        if not request.covers(RecordType.CASEWORK):
            return erased, kept
        only = request.case_ids if request.scope is ErasureScope.CASES else None
        entries = await self.store.cases_of_person(
            request.organisation, request.person_id, request.case_ids, only_cases=only
        )
        uow = UnitOfWork(self.runtime.relay)
        for entry in entries:
            if needs_deidentifying(entry):
                # Derived from the entry alone: applying it twice changes nothing.
                update = deidentifying_update(entry)
                uow.change(self.store.cases, entry.case_id, update, idempotent=True)
        await uow.commit()
        if entries:
            kept["waiting-list entry"] = len(entries)
        subjects = [request.person_id, *request.case_ids, *(e.case_id for e in entries)]
        removed = await self.runtime.quarantine.erase_subjects(request.organisation, subjects)
        if removed:
            erased["quarantined record"] = removed
        log.info("privacy.allocation_erased", request_id=request.request_id, kept=kept)
        return erased, kept


def register(runtime: ServiceRuntime, store: AllocationStore) -> AllocationPrivacy:
    """Answer every privacy request of every organisation, even with nothing held."""
    privacy = AllocationPrivacy(runtime, store)
    answer_privacy_requests(runtime, SERVICE, privacy.access, privacy.erase)
    return privacy
