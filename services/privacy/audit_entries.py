"""Audit entries for what the privacy service does by itself, outside an HTTP request: a
subject-access request fulfilled, an erasure carried out by every service. The making of a
request is audited by the HTTP layer (`shared/audit.py`); these close the record.

The entry's id is derived from the request, so a redelivered answer never makes a second."""

from __future__ import annotations

from datetime import datetime

from shared.events.audit_events import AuditRecorded
from shared.events.envelope import Envelope, make_event
from shared.ids import stable_id

SOURCE = "privacy"


def completed(
    organisation: str, kind: str, request_id: str, action: str, now: datetime
) -> Envelope:
    """`action`: e.g. "subject-access.fulfilled"; `kind`: the record kind of the request."""
    data = AuditRecorded(
        organisation=organisation,
        at=now,
        service=SOURCE,
        outcome="allowed",
        status=200,
        action=action,
        method="EVENT",
        path="privacy.responses",
        reason=None,
        actor_name="privacy service",
        record_kind=kind,
        record_id=request_id,
        listed_ids=[],
        purpose=None,
        request_id=stable_id(request_id, action),
        correlation_id=request_id,
    )
    return make_event(
        data,
        source=SOURCE,
        organisation=organisation,
        correlation_id=request_id,
        event_id=stable_id(request_id, action, "audit"),
        time=now,
    )
