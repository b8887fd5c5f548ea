"""What the privacy API answers about requests: status, dates and who answered, never the
person's data (that is the bundle's, for the data protection officer alone)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from services.privacy import lifecycle
from services.privacy.deadlines import is_overdue
from services.privacy.model import (
    AccessRequest,
    Answered,
    CarriedOut,
    ErasureRecord,
    ScheduleRecord,
)
from services.privacy.retention import Period, effective_periods
from shared.events.privacy_events import ErasureBasis, ErasureScope, RecordType


class AccessAccepted(BaseModel):
    request_id: str
    due_on: date
    status: lifecycle.RequestStatus


class AccessRequestView(BaseModel):
    request_id: str
    person_id: str  # the organisation's pseudonymous id
    status: lifecycle.RequestStatus
    received_on: date
    due_on: date
    overdue: bool
    requested_at: datetime
    requested_by: str | None
    answered: dict[str, Answered]  # service -> when, how many records
    awaiting: list[str]
    fulfilled_at: datetime | None
    bundle_erased_at: datetime | None


class AccessRequestList(BaseModel):
    count: int
    requests: list[AccessRequestView]


def access_view(request: AccessRequest, today: date) -> AccessRequestView:
    fulfilled = request.fulfilled_at is not None
    return AccessRequestView(
        request_id=request.request_id,
        person_id=request.person_id,
        status=request.status,
        received_on=request.received_on,
        due_on=request.due_on,
        overdue=is_overdue(request.due_on, today, fulfilled),
        requested_at=request.requested_at,
        requested_by=request.requested_by,
        answered=request.answers,
        awaiting=lifecycle.awaiting(request.answers),
        fulfilled_at=request.fulfilled_at,
        bundle_erased_at=request.bundle_erased_at,
    )


def access_list(requests: list[AccessRequest], today: date) -> AccessRequestList:
    return AccessRequestList(
        count=len(requests), requests=[access_view(r, today) for r in requests]
    )


class ErasureAccepted(BaseModel):
    request_id: str
    scope: ErasureScope


class ErasureView(BaseModel):
    request_id: str
    person_id: str
    basis: ErasureBasis
    scope: ErasureScope
    case_ids: list[str]
    record_types: list[RecordType]
    reason: str | None
    requested_at: datetime
    requested_by: str | None
    carried_out: dict[str, CarriedOut]  # service -> when, counts erased and de-identified
    awaiting: list[str]
    completed_at: datetime | None
    bundles_erased: int


class ErasureList(BaseModel):
    count: int
    requests: list[ErasureView]


def erasure_view(record: ErasureRecord) -> ErasureView:
    return ErasureView(
        **record.model_dump(exclude={"answers", "organisation"}),
        carried_out=record.answers,
        awaiting=lifecycle.awaiting(record.answers),
    )


def erasure_list(records: list[ErasureRecord]) -> ErasureList:
    return ErasureList(count=len(records), requests=[erasure_view(r) for r in records])


class ScheduleView(BaseModel):
    organisation: str
    periods: dict[RecordType, Period]  # every type: the organisation's or the default
    set_by_organisation: list[RecordType]
    updated_at: datetime | None
    updated_by: str | None
    applies: str = (
        "from case closure; a change moves the open retention timers of cases already closed"
    )


def schedule_view(record: ScheduleRecord) -> ScheduleView:
    return ScheduleView(
        organisation=record.organisation,
        periods=effective_periods(record.periods),
        set_by_organisation=sorted(record.periods),
        updated_at=record.updated_at,
        updated_by=record.updated_by,
    )
