"""The audit trail: one event per look at or change of a person's record, per refused request
and per failed sign-in. The audit service chains them per organisation (tamper-evident)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from shared.events.base import EventData
from shared.topics import Topic

UNVERIFIED = "unverified"
"""The chain of refusals whose caller proved no organisation (a bad or missing token)."""


class AuditRecorded(EventData):
    TYPE: ClassVar[str] = "AuditRecorded"
    TOPIC: ClassVar[str] = Topic.AUDIT

    organisation: str = Field(description=f"the caller's organisation, or {UNVERIFIED!r}")
    at: datetime
    service: str
    outcome: Literal["allowed", "refused", "failed"]
    status: int = Field(description="the HTTP status answered")
    action: str = Field(description="the permission exercised, or what was attempted")
    method: str
    path: str
    reason: str | None = Field(None, description="why it was refused")
    actor_subject: str | None = None
    actor_name: str | None = None
    actor_roles: list[str] = []
    client_id: str | None = None
    client_address: str | None = None
    record_kind: str | None = None
    record_id: str | None = None
    listed_ids: list[str] = Field(
        [], description="the records a list answer showed (the first 500), of record_kind"
    )
    purpose: str | None = Field(None, description="the reason the caller gave (X-Purpose)")
    request_id: str
    correlation_id: str

    def subject(self) -> str:
        return self.organisation

    def partition_key(self) -> str:
        return self.organisation
