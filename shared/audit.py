"""The audit entry of one HTTP request: who, which organisation, which roles, what they did to
which record, why (if they said), when, and how it ended. Published on the audit topic
*before* the response leaves: if the entry cannot be written, the caller gets 503, not the data.
"""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import Request

from shared.auth import access_of, client_address
from shared.events.audit_events import UNVERIFIED, AuditRecorded
from shared.events.envelope import Envelope, make_event
from shared.ids import new_id

PURPOSE_HEADER = "X-Purpose"
REQUEST_ID_HEADER = "X-Request-ID"
CORRELATION_HEADER = "X-Correlation-ID"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def header_id(request: Request, name: str) -> str | None:
    """An id the caller sent, when it is a sane one (never echo arbitrary text into logs)."""
    value = request.headers.get(name)
    return value if value and _SAFE_ID.match(value) else None


def audit_entry(
    request: Request, status_code: int, *, service: str, at: datetime, request_id: str
) -> Envelope | None:
    """The entry for this request, or None when nothing about it is audited: a request is
    audited when it was refused, or when it read or changed a person's record, or changed
    anything at all."""
    access = access_of(request)
    if access.quiet:
        return None
    refused = access.refusal is not None
    policy = access.policy
    touches = policy is not None and (policy.personal or request.method != "GET")
    if not refused and not touches:
        return None
    principal = access.principal
    organisation = principal.organisation if principal else UNVERIFIED
    route = request.scope.get("route")
    purpose = request.headers.get(PURPOSE_HEADER)
    outcome = "refused" if refused else ("allowed" if status_code < 500 else "failed")
    data = AuditRecorded(
        organisation=organisation,
        at=at,
        service=service,
        outcome=outcome,
        status=status_code,
        action=policy.permission.value if policy else "sign-in",
        method=request.method,
        path=getattr(route, "path", None) or request.url.path[:200],
        reason=access.refusal,
        actor_subject=principal.subject if principal else None,
        actor_name=principal.display if principal else None,
        actor_roles=sorted(principal.roles) if principal else [],
        client_id=principal.client_id if principal else None,
        client_address=client_address(request),
        record_kind=access.record_kind,
        record_id=access.record_id,
        listed_ids=access.listed_ids,
        purpose=purpose[:200] if purpose else None,
        request_id=request_id,
        correlation_id=header_id(request, CORRELATION_HEADER) or request_id,
    )
    return make_event(
        data,
        source=service,
        organisation=organisation,
        correlation_id=data.correlation_id,
        # Our own id, never derived from the client's X-Request-ID: a reused request id must
        # not make a later entry look like a redelivery of an earlier one.
        event_id=new_id("audit"),
        time=at,
    )
