"""Personal data through its life: subject access and erasure, asked of every service by the
privacy service and answered by each for what it holds itself (no service reads another's
collections).

Requests travel on `privacy.requests`, which every service reads. Answers travel on
`privacy.responses`, which only the privacy service reads: a subject-access answer carries the
person's data, so the privacy service deletes what it has consumed from that topic once the
bundle is stored (`shared/topic_purge.py`). Both are keyed by person, so one person's requests
and answers stay in order.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, Field, field_validator

from shared.events.base import EventData
from shared.topics import Topic

# Every service that holds something about a person answers every request; the privacy service
# waits for all of them before a request is fulfilled.
PRIVACY_CONTRIBUTORS = (
    "referral",
    "allocation",
    "support",
    "reconnection",
    "notifications",
    "audit",
    "agreements",
    "outcomes",
)


class RecordType(StrEnum):
    """What a retention schedule and an erasure name; each service maps its records to one."""

    CASEWORK = "casework"  # referrals, allocation, support, reconnection records
    CONTACT_DETAILS = "contact-details"  # notifications' copies of contact details
    DELIVERIES = "deliveries"  # the delivery log and stored letters
    QUARANTINE = "quarantine"  # dead letters kept for an operator


class ErasureBasis(StrEnum):
    REQUEST = "request"  # a lawful erasure request (UK GDPR Article 17)
    RETENTION = "retention"  # the organisation's retention schedule fell due


class ErasureScope(StrEnum):
    PERSON = "person"  # everything about the person in the organisation
    CASES = "cases"  # only the named cases (retention after closure)


class SubjectAccessRequested(EventData):
    TYPE: ClassVar[str] = "SubjectAccessRequested"
    TOPIC: ClassVar[str] = Topic.PRIVACY_REQUESTS

    request_id: str
    organisation: str
    person_id: str = Field(description="the organisation's pseudonymous person id")
    requested_at: datetime

    def subject(self) -> str:
        return self.person_id


class ErasureRequested(EventData):
    """De-identify or delete what is held about a person (or only about some of their cases).

    What the statutory returns and outcomes need is kept, de-identified: codes, dates, counts
    and ids, never a name, date of birth, NI number, contact detail, address, free text or
    tenancy reference."""

    TYPE: ClassVar[str] = "ErasureRequested"
    TOPIC: ClassVar[str] = Topic.PRIVACY_REQUESTS

    request_id: str
    organisation: str
    person_id: str
    basis: ErasureBasis
    scope: ErasureScope = ErasureScope.PERSON
    case_ids: list[str] = Field(default=[], description="with scope=cases: the cases")
    record_types: list[RecordType] = Field(default=[], description="empty: every type")
    requested_at: datetime

    def subject(self) -> str:
        return self.person_id

    def covers(self, record_type: RecordType) -> bool:
        return not self.record_types or record_type in self.record_types


class HeldRecord(BaseModel):
    """One record a service holds about the person, as the bundle shows it."""

    kind: str = Field(description="e.g. referral, case, contact-log entry, delivery, letter")
    record_id: str
    held_in: str = Field(description="service and collection, e.g. support/cases")
    held_since: datetime | None = None
    last_changed: datetime | None = None
    data: dict[str, Any] = {}
    shared_with: list[str] = Field(default=[], description="organisations it went to, and why")

    @field_validator("data")
    @classmethod
    def _without_internal_fields(cls, data: dict[str, Any]) -> dict[str, Any]:
        """A stored document's own bookkeeping (`_id`, `_inbox`, `_outbox_token`, ...) is the
        service's, not the person's: it never leaves in a bundle."""
        return _public(data)


def _public(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


class SubjectDataContributed(EventData):
    TYPE: ClassVar[str] = "SubjectDataContributed"
    TOPIC: ClassVar[str] = Topic.PRIVACY_RESPONSES

    request_id: str
    organisation: str
    person_id: str
    service: str
    records: list[HeldRecord] = []

    def subject(self) -> str:
        return self.person_id


class ErasureCarriedOut(EventData):
    TYPE: ClassVar[str] = "ErasureCarriedOut"
    TOPIC: ClassVar[str] = Topic.PRIVACY_RESPONSES

    request_id: str
    organisation: str
    person_id: str
    service: str
    erased: dict[str, int] = Field(default={}, description="records deleted, per kind")
    deidentified: dict[str, int] = Field(default={}, description="records kept de-identified")

    def subject(self) -> str:
        return self.person_id
