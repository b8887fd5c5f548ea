"""The agreements service's record of one data-sharing agreement: the shared `Agreement` every
replica holds, plus what only the owner keeps (the proposer's note and who did what, when)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from shared.agreements import Agreement, AgreementStatus, DataCategory, Purpose


class Change(BaseModel):
    """One step of the agreement's life, for the parties' admins to read back."""

    change: str  # proposed | accepted | declined | ended
    organisation: str
    subject: str | None = None  # the admin who did it (token subject)
    at: datetime
    note: str | None = None


class AgreementRecord(BaseModel):
    agreement_id: str
    proposed_by: str
    counterparty: str
    purpose: Purpose
    categories: list[DataCategory]  # sorted, unique
    starts: datetime
    ends: datetime | None = None
    status: AgreementStatus = AgreementStatus.PROPOSED
    version: int = 1  # the stored document's version: every change bumps it
    note: str | None = None
    proposed_at: datetime
    updated_at: datetime
    history: list[Change] = Field(default_factory=list)

    @property
    def parties(self) -> tuple[str, str]:
        return self.proposed_by, self.counterparty

    def other_party(self, organisation: str) -> str:
        return self.counterparty if organisation == self.proposed_by else self.proposed_by

    def agreement(self) -> Agreement:
        return Agreement(
            agreement_id=self.agreement_id,
            proposed_by=self.proposed_by,
            counterparty=self.counterparty,
            purpose=self.purpose,
            categories=frozenset(self.categories),
            starts=self.starts,
            ends=self.ends,
            status=self.status,
            version=self.version,
        )
