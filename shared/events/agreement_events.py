"""Changes to data-sharing agreements, published by the agreements service to every replica."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from shared.agreements import Agreement, AgreementStatus, DataCategory, Purpose
from shared.events.base import EventData
from shared.topics import Topic


class AgreementChanged(EventData):
    """The whole agreement after a change (proposed, accepted, declined, ended): a replica keeps
    the highest version it has seen, so order and repeats do not matter."""

    TYPE: ClassVar[str] = "AgreementChanged"
    TOPIC: ClassVar[str] = Topic.AGREEMENTS

    agreement_id: str
    proposed_by: str
    counterparty: str
    purpose: Purpose
    categories: list[DataCategory]
    starts: datetime
    ends: datetime | None = None
    status: AgreementStatus
    version: int
    change: str  # proposed | accepted | declined | ended
    changed_by_organisation: str

    @classmethod
    def of(cls, agreement: Agreement, change: str, by: str) -> AgreementChanged:
        """The event for this version of `agreement`, changed by organisation `by`."""
        return cls(
            **agreement.model_dump(exclude={"categories"}),
            categories=sorted(agreement.categories),
            change=change,
            changed_by_organisation=by,
        )

    def subject(self) -> str:
        return self.agreement_id

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
