"""HTTP API for auditors: the organisation's audit entries, who has seen a person's record or
one record, and whether the chain is intact. Every route sees only the caller's organisation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from services.audit.chain import Problem
from services.audit.store import AuditStore
from shared.auth import CallerDep
from shared.events.audit_events import AuditRecorded
from shared.mongo import Document

router = APIRouter(prefix="/audit", tags=["audit"])

Outcome = Literal["allowed", "refused", "failed"]
Limit = Annotated[int, Query(ge=1, le=500, description="at most this many entries, newest first")]
Text = Annotated[str | None, Query(min_length=1, max_length=200)]
PersonId = Annotated[str, Path(min_length=1, max_length=200, description="pseudonymous person id")]
RecordId = Annotated[str, Path(min_length=1, max_length=200, description="e.g. a case id")]


class AuditEntry(AuditRecorded):
    """An entry as stored: the event's own fields (one definition, shared/events) and its
    place in the organisation's chain."""

    id: str = Field(description="organisation:sequence")
    sequence: int = Field(description="place in the organisation's chain, from 1")
    event_id: str
    previous_hash: str
    hash: str


class PersonTrail(BaseModel):
    person_id: str
    case_ids: list[str] = Field(description="the person's cases in the caller's organisation")
    entries: list[AuditEntry] = Field(description="every entry about any of those cases")


class RecordTrail(BaseModel):
    record_id: str
    entries: list[AuditEntry]


class FindingView(BaseModel):
    sequence: int
    entry_id: str
    problem: Problem
    detail: str


class ChainVerification(BaseModel):
    organisation: str
    intact: bool
    entries_checked: int
    head_sequence: int | None = None
    head_hash: str | None = None
    finding: FindingView | None = Field(None, description="the first entry altered or removed")


def _store(request: Request) -> AuditStore:
    store: AuditStore = request.app.state.store
    return store


def _view(document: Document) -> AuditEntry:
    return AuditEntry.model_validate({**document, "id": document["_id"]})


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)  # a time without a zone is read as UTC


@router.get("/entries", response_model=list[AuditEntry])
async def list_entries(
    request: Request,
    caller: CallerDep,
    actor_subject: Text = None,
    record_id: Text = None,
    outcome: Outcome | None = None,
    since: Annotated[datetime | None, Query(alias="from", description="inclusive")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="exclusive")] = None,
    limit: Limit = 100,
) -> Any:
    """The organisation's audit entries, newest first, filtered by who, which record, how it
    ended and when."""
    since, until = _utc(since), _utc(until)
    if since is not None and until is not None and since >= until:
        raise HTTPException(422, "from: must be before to")
    found = await _store(request).find(
        caller.organisation,
        limit=limit,
        actor_subject=actor_subject,
        record_ids=None if record_id is None else [record_id],
        outcome=outcome,
        since=since,
        until=until,
    )
    return [_view(document) for document in found]


@router.get("/people/{person_id}", response_model=PersonTrail)
async def person_trail(
    request: Request, caller: CallerDep, person_id: PersonId, limit: Limit = 500
) -> Any:
    """Who has seen or changed this person's record, and when: every entry about any of the
    person's cases, newest first."""
    store = _store(request)
    case_ids = await store.cases_of(person_id, caller.organisation)
    found = await store.find(caller.organisation, limit=limit, record_ids=case_ids)
    return PersonTrail(person_id=person_id, case_ids=case_ids, entries=[_view(d) for d in found])


@router.get("/records/{record_id}", response_model=RecordTrail)
async def record_trail(
    request: Request, caller: CallerDep, record_id: RecordId, limit: Limit = 500
) -> Any:
    """Every entry about one record (a case), newest first."""
    found = await _store(request).find(caller.organisation, limit=limit, record_ids=[record_id])
    return RecordTrail(record_id=record_id, entries=[_view(d) for d in found])


@router.get("/verification", response_model=ChainVerification)
async def verification(request: Request, caller: CallerDep) -> Any:
    """Checks the organisation's whole chain and names the first entry altered, removed or
    out of order."""
    result = await _store(request).verify(caller.organisation)
    finding = result.finding
    return ChainVerification(
        organisation=result.organisation,
        intact=result.intact,
        entries_checked=result.entries,
        head_sequence=result.head.sequence if result.head else None,
        head_hash=result.head.hash if result.head else None,
        finding=None
        if finding is None
        else FindingView(
            sequence=finding.sequence,
            entry_id=finding.entry_id,
            problem=finding.problem,
            detail=finding.detail,
        ),
    )
