"""The case's consent as support shows it (issue 16): kept from ConsentChanged on
referral.events in support's own `consents` collection (`_id` = case id, the newest version
only), so it is there whether consent changed before or after the case was opened here, and
shown on the case (`GET /v1/cases/{case_id}`: given, varied, withdrawn or expired, with its
scope and when). Expiry is the clock's: no event says a consent has expired.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.consent import Consent
from shared.consent_repository import STORED_VERSION, ConsentRepository
from shared.events.consent_events import ConsentChanged
from shared.events.envelope import Envelope
from shared.mongo import Collection
from shared.unit_of_work import UnitOfWork

CONSENTS = "consents"


class ConsentCopies:
    def __init__(self, collection: Collection, relay: Any = None) -> None:
        self.repository = ConsentRepository(collection)
        self.relay = relay

    async def learn(self, envelope: Envelope, data: ConsentChanged) -> None:
        """Keep the newer consent; a repeat or an older one changes nothing."""
        consent = data.consent()
        fields = self.repository.to_document(consent)
        uow = UnitOfWork(self.relay)
        uow.upsert(
            self.repository,
            consent.case_id,
            {"$set": fields},
            fields,
            event_id=envelope.id,
            guard={STORED_VERSION: {"$lt": consent.version}},
        )
        await uow.commit()

    async def of(self, case_id: str, organisation: str) -> Consent | None:
        loaded = await self.repository.get(case_id, organisation=organisation)
        return None if loaded is None else loaded.model


def consent_view(consent: Consent | None, now: datetime) -> dict[str, Any] | None:
    """What the case shows of its consent now (None: none recorded, e.g. an automatic
    prevention referral's case)."""
    if consent is None:
        return None
    scope = consent.scope
    return {
        "state": consent.state_at(now).value,
        "organisations": list(scope.organisations),
        "purposes": [p.value for p in scope.purposes],
        "channels": [c.value for c in scope.channels],
        "expires_on": scope.expires_on,
        "given_at": consent.given_at,
        "given_by": consent.given_by,
        "varied_at": consent.varied_at,
        "withdrawn_at": consent.withdrawn_at,
        "withdrawn_on": consent.withdrawn_on,
        "withdrawn_by": consent.withdrawn_by,
        "version": consent.version,
    }
