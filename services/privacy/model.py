"""What the privacy service keeps: requests with their answers' bookkeeping (dates, who
answered, counts: never personal data besides the pseudonymous person id), the answers of a
subject-access request apart (the bundle, deleted when the person is erased), and each
organisation's retention schedule."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from services.privacy import lifecycle
from services.privacy.retention import Period
from shared.events.privacy_events import ErasureBasis, ErasureScope, RecordType


class Answered(BaseModel):
    at: datetime
    records: int = 0


class AccessRequest(BaseModel):
    request_id: str
    organisation: str
    person_id: str
    requested_by: str | None = None  # the token subject of the officer who asked
    requester_note: str | None = None
    received_on: date
    due_on: date
    requested_at: datetime
    answers: dict[str, Answered] = Field(default_factory=dict)  # by service
    fulfilled_at: datetime | None = None
    bundle_erased_at: datetime | None = None  # the person was erased: the bundle is gone

    @property
    def status(self) -> lifecycle.RequestStatus:
        return lifecycle.status_of(self.answers, self.fulfilled_at is not None)


class Contribution(BaseModel):
    """One service's answer to one subject-access request: part of the bundle.

    The records are kept as their JSON text: their `data` has whatever keys the answering
    service chose, and a key with a dot or a leading `$` is not one every backend stores."""

    contribution_id: str
    request_id: str
    organisation: str
    person_id: str
    service: str
    answered_at: datetime
    records_json: str


class CarriedOut(BaseModel):
    at: datetime
    erased: dict[str, int] = Field(default_factory=dict)
    deidentified: dict[str, int] = Field(default_factory=dict)


class ErasureRecord(BaseModel):
    request_id: str
    organisation: str
    person_id: str
    basis: ErasureBasis
    scope: ErasureScope = ErasureScope.PERSON
    case_ids: list[str] = Field(default_factory=list)
    record_types: list[RecordType] = Field(default_factory=list)
    reason: str | None = None  # the lawful basis, as the officer gave it
    requested_by: str | None = None
    requested_at: datetime
    answers: dict[str, CarriedOut] = Field(default_factory=dict)  # by service
    completed_at: datetime | None = None
    bundles_erased: int = 0  # the privacy service's own part: stored bundles deleted


class ScheduleRecord(BaseModel):
    organisation: str
    periods: dict[RecordType, Period] = Field(default_factory=dict)
    updated_at: datetime | None = None
    updated_by: str | None = None
