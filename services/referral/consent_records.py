"""Each referral's consent (issue 16): one document per case in the referral service's own
`consents` collection (`_id` = referral id = case id), outbox-enabled, so a change and its
ConsentChanged (plus, when the person may be contacted, a fresh ContactDetailsShared) are one
write. Recorded at intake from the submission, then given anew, varied or withdrawn by staff
through `consent_api.py`; the rules are `shared/consent.py`.

Contact details follow consent in one place: referral publishes ContactDetailsShared (with the
consent's version) while the consent covers contact; notifications drops its copy when a
ConsentChanged no longer covers contact (withdrawn, or `contact` taken out of the scope).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.referral.referral import Referral
from shared.clock import Clock
from shared.codes import Channel
from shared.consent import Consent, ConsentPurpose, give, intake_scope
from shared.consent_repository import ConsentRepository
from shared.events.consent_events import ConsentChanged
from shared.events.envelope import Envelope, follow_on, make_event
from shared.events.referral_events import ContactDetailsShared
from shared.events.referral_intake import ContactDetails, Person, ReferralSubmission
from shared.ids import stable_id
from shared.outbox import OutboxRelay
from shared.repository import Loaded
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork

CONSENTS = "consents"
SOURCE = "referral"
INTAKE_BY = "intake"  # who recorded consent taken with the referral: the referrer's form


@dataclass(frozen=True)
class ConsentChange:
    consent: Consent
    written: bool  # False: another writer changed it meanwhile (try again)


def contact_shared(referral: Referral, consent: Consent) -> ContactDetailsShared | None:
    """What notifications may know of the person under this consent: nothing unless it
    covers contact, and only the channels it allows (none listed: those with details)."""
    submission = referral.submission
    if ConsentPurpose.CONTACT not in consent.scope.purposes or consent.withdrawn_at is not None:
        return None
    if not submission.get("person") or not submission.get("contact"):
        return None
    person = Person.model_validate(submission["person"])
    contact = ContactDetails.model_validate(submission["contact"])
    allowed = set(consent.scope.channels) or set(Channel)
    phone_ok = bool(allowed & {Channel.SMS, Channel.WHATSAPP, Channel.PHONE})
    return ContactDetailsShared(
        person_id=consent.person_id,
        case_id=consent.case_id,
        display_name=person.display_name,
        email=contact.email if Channel.EMAIL in allowed else None,
        mobile=(contact.mobile or None) if phone_ok else None,
        postal_address=contact.postal_address if Channel.LETTER in allowed else [],
        preferred_channels=[c.value for c in contact.preferred_channels if c in allowed],
        consented_channels=[c.value for c in consent.scope.channels],
        share_with=list(consent.scope.organisations),
        consent_version=consent.version,
    )


class ConsentRecords:
    def __init__(self, runtime: ServiceRuntime, clock: Clock) -> None:
        self.relay: OutboxRelay = runtime.relay
        self.clock = clock
        self.collection = runtime.collection(CONSENTS, outbox=True)
        self.repository = ConsentRepository(self.collection)

    async def get(self, case_id: str) -> Loaded[Consent] | None:
        return await self.repository.get(case_id)

    def record_at_intake(
        self,
        uow: UnitOfWork,
        referral: Referral,
        submission: ReferralSubmission,
        received: Envelope,
    ) -> None:
        """The consent a referral came with, as the case's consent (version 1), with its
        ConsentChanged; a referral without consent (an automatic one) records none."""
        taken = submission.consent
        if taken is None:
            return
        scope = intake_scope(
            to_share=taken.to_share,
            share_with=taken.share_with,
            referrer_organisation=referral.referrer.organisation,
            purposes=taken.purposes,
            channels=taken.channels_allowed,
            expires_on=taken.expires_on,
        )
        consent = give(
            None,
            case_id=referral.referral_id,
            person_id=referral.person_id,
            organisation=referral.organisation,
            scope=scope,
            by=INTAKE_BY,
            at=referral.received_at,
            check_expiry_day=False,
        )
        event = follow_on(received, ConsentChanged.of(consent), source=SOURCE)
        uow.add(self.repository, consent, [event])

    async def change(
        self,
        referral: Referral,
        decide: Callable[[Consent | None], Consent],
        now: datetime,
        correlation_id: str | None = None,
    ) -> ConsentChange:
        """Load, decide (pure; may raise `ConsentError`), write once with its events."""
        loaded = await self.repository.get(referral.referral_id)
        consent = decide(loaded.model if loaded else None)
        events = [self._event(ConsentChanged.of(consent), consent, now, correlation_id)]
        contact = contact_shared(referral, consent)
        if contact is not None:
            events.append(self._event(contact, consent, now, correlation_id))
        uow = UnitOfWork(self.relay)
        if loaded is None:
            uow.add(self.repository, consent, events)
        else:
            uow.save(self.repository, loaded, consent, events)
        committed = await uow.commit()
        written = referral.referral_id in committed.written
        return ConsentChange(consent, written)

    def _event(
        self, data: Any, consent: Consent, now: datetime, correlation_id: str | None
    ) -> Envelope:
        # Derived from the case and version: a retried write re-emits the same event.
        event_id = stable_id(consent.case_id, "consent", str(consent.version), data.TYPE)
        return make_event(
            data,
            source=SOURCE,
            organisation=consent.organisation,
            correlation_id=correlation_id,
            event_id=event_id,
            time=now,
        )
