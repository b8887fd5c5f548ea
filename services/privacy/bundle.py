"""The subject-access bundle, put together from the stored answers. Pure: no I/O.

What, where (`held_in`), since when, last changed, per record; grouped by the service that
holds it. Who it was shared with comes from three places: each record's own `shared_with`,
the audit service's answer (who saw or changed the person's records) and the agreements
service's answer (the agreements under which data could go to other organisations)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime

from pydantic import BaseModel, Field

from services.privacy.model import AccessRequest, Contribution
from shared.events.privacy_events import PRIVACY_CONTRIBUTORS, HeldRecord

AUDIT_SERVICE = "audit"
AGREEMENTS_SERVICE = "agreements"


class ServiceSection(BaseModel):
    service: str
    answered_at: datetime
    count: int
    records: list[HeldRecord]


class Sharing(BaseModel):
    organisations: list[str] = Field(
        description="every organisation a record names in shared_with, once each"
    )
    seen_or_changed: list[HeldRecord] = Field(description="the audit service's answer")
    agreements: list[HeldRecord] = Field(description="the agreements service's answer")


class Bundle(BaseModel):
    request_id: str
    organisation: str
    person_id: str
    received_on: date
    due_on: date
    fulfilled_at: datetime | None
    produced_at: datetime
    records: int
    services: list[ServiceSection]
    shared_with: Sharing


def held_records(contribution: Contribution) -> list[HeldRecord]:
    return [HeldRecord.model_validate(r) for r in json.loads(contribution.records_json)]


def records_json(records: Iterable[HeldRecord]) -> str:
    return json.dumps([r.model_dump(mode="json") for r in records], ensure_ascii=False)


def _order(service: str) -> tuple[int, str]:
    known = service in PRIVACY_CONTRIBUTORS
    return (PRIVACY_CONTRIBUTORS.index(service) if known else len(PRIVACY_CONTRIBUTORS), service)


def assemble(
    request: AccessRequest, contributions: Iterable[Contribution], now: datetime
) -> Bundle:
    sections = [
        ServiceSection(service=c.service, answered_at=c.answered_at, count=len(held), records=held)
        for c in sorted(contributions, key=lambda c: _order(c.service))
        for held in [held_records(c)]
    ]
    by_service = {s.service: s.records for s in sections}
    organisations = sorted(
        {org for s in sections for record in s.records for org in record.shared_with}
    )
    return Bundle(
        request_id=request.request_id,
        organisation=request.organisation,
        person_id=request.person_id,
        received_on=request.received_on,
        due_on=request.due_on,
        fulfilled_at=request.fulfilled_at,
        produced_at=now,
        records=sum(s.count for s in sections),
        services=sections,
        shared_with=Sharing(
            organisations=organisations,
            seen_or_changed=by_service.get(AUDIT_SERVICE, []),
            agreements=by_service.get(AGREEMENTS_SERVICE, []),
        ),
    )
