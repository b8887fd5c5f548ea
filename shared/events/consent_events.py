"""Consent on a case changed (issue 16): given, varied or withdrawn, from the referral service.

Keyed by case id on `referral.events`. Every service that shares or notifies keeps the highest
`version` it has seen and asks `shared.consent.decide` at the moment a flow happens; expiry
needs no event (the same check, with the clock). The withdrawal's reason, free text staff
typed, stays in the referral service.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import Field

from shared.consent import Consent, ConsentScope, ConsentState
from shared.events.base import EventData
from shared.topics import Topic


class ConsentChanged(EventData):
    TYPE: ClassVar[str] = "ConsentChanged"
    TOPIC: ClassVar[str] = Topic.REFERRAL_EVENTS

    case_id: str
    person_id: str
    organisation: str = Field(description="the organisation holding the case")
    state: ConsentState = Field(description="given, varied or withdrawn")
    organisations: list[str] = Field(default=[], description="other organisations covered")
    purposes: list[str] = Field(default=[], description="contact and sharing purposes covered")
    channels: list[str] = Field(default=[], description="channels the person allows")
    expires_on: date | None = None
    given_at: datetime
    given_by: str
    varied_at: datetime | None = None
    withdrawn_at: datetime | None = Field(None, description="effective from this moment")
    withdrawn_on: date | None = None
    withdrawn_by: str | None = None
    version: int = Field(ge=1, description="copies keep the highest")

    @classmethod
    def of(cls, consent: Consent) -> ConsentChanged:
        scope = consent.scope
        return cls(
            case_id=consent.case_id,
            person_id=consent.person_id,
            organisation=consent.organisation,
            state=consent.state,
            organisations=list(scope.organisations),
            purposes=[p.value for p in scope.purposes],
            channels=[c.value for c in scope.channels],
            expires_on=scope.expires_on,
            given_at=consent.given_at,
            given_by=consent.given_by,
            varied_at=consent.varied_at,
            withdrawn_at=consent.withdrawn_at,
            withdrawn_on=consent.withdrawn_on,
            withdrawn_by=consent.withdrawn_by,
            version=consent.version,
        )

    def consent(self) -> Consent:
        """The consent as a receiving service keeps it (without the withdrawal's reason)."""
        return Consent(
            case_id=self.case_id,
            person_id=self.person_id,
            organisation=self.organisation,
            state=self.state,
            scope=ConsentScope(
                organisations=tuple(self.organisations),
                purposes=tuple(self.purposes),  # type: ignore[arg-type]
                channels=tuple(self.channels),  # type: ignore[arg-type]
                expires_on=self.expires_on,
            ),
            given_at=self.given_at,
            given_by=self.given_by,
            varied_at=self.varied_at,
            withdrawn_at=self.withdrawn_at,
            withdrawn_on=self.withdrawn_on,
            withdrawn_by=self.withdrawn_by,
            version=self.version,
        )
