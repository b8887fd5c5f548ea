"""What the agreements API answers: an agreement as its parties' admins see it, with whether it
is live now and whose move it is."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from services.agreements.model import AgreementRecord, Change
from shared.agreements import AgreementStatus, DataCategory, Purpose


class AgreementView(BaseModel):
    agreement_id: str
    proposed_by: str
    counterparty: str
    purpose: Purpose
    categories: list[DataCategory]
    starts: datetime
    ends: datetime | None
    status: AgreementStatus
    version: int
    live: bool  # active, started and not yet ended: flows it covers may happen now
    awaiting: str | None  # the organisation whose answer a proposal waits for
    note: str | None
    proposed_at: datetime
    updated_at: datetime
    history: list[Change]


class AgreementList(BaseModel):
    count: int
    agreements: list[AgreementView]


def agreement_view(record: AgreementRecord, now: datetime) -> AgreementView:
    proposed = record.status is AgreementStatus.PROPOSED
    return AgreementView(
        **record.model_dump(exclude={"history"}),
        history=record.history,
        live=record.agreement().live_at(now),
        awaiting=record.counterparty if proposed else None,
    )


def agreement_list(records: list[AgreementRecord], now: datetime) -> AgreementList:
    return AgreementList(count=len(records), agreements=[agreement_view(r, now) for r in records])
