"""One referral in, whatever door it came through (HTTP or the referral.intake topic):
recognise the person, screen, persist, and queue ReferralReceived + ReferralAssessed (and
ContactDetailsShared when the person consents) in the same single-document write.

A person who already has an open referral in the organisation is not silently referred twice:
the new referral is still screened and routed (a vulnerable person's referral is never
dropped or held back), but flagged `possible_duplicate_of` the oldest open one and linked both
ways, in the events too, so a team leader can merge them.

People are recognised within the organisation (person ids are its own); another organisation's
index is asked only under a live person-matching agreement, and the referral records only which
partner knows the person (`person_matching.py`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from services.referral.consent_records import ConsentRecords
from services.referral.entry_stage import entry_stage, in_crisis
from services.referral.person_matching import (
    Keyring,
    MatchDecision,
    MatchKey,
    MatchKeyError,
    decide,
    match_keys,
    matching_partners,
    partner_matches,
)
from services.referral.referral import Referral, StatusEntry
from services.referral.repeat_cycle import Closure, repeat_cycle_reason
from services.referral.screening import ScreeningResult, screen
from services.referral.status import ReferralStatus
from services.referral.store import ReferralStore
from services.referral.tenancy_references import reference_shared
from shared.agreement_book import AgreementBook
from shared.clock import Clock
from shared.codes import Channel
from shared.consent import ConsentPurpose
from shared.events.envelope import Envelope, follow_on, make_event
from shared.events.referral_events import ContactDetailsShared, ReferralAssessed, ReferralReceived
from shared.events.referral_intake import ReferralSubmission
from shared.ids import stable_id, tenancy_id
from shared.outbox import OutboxRelay
from shared.unit_of_work import UnitOfWork

SOURCE = "referral"
CLAIM_ATTEMPTS = 3


@dataclass(frozen=True)
class IntakeResult:
    referral: Referral
    created: bool  # False: this referral id existed already (a repeat delivery or retry)


@dataclass(frozen=True)
class IntakeRequest:
    referral_id: str
    organisation: str
    submission: ReferralSubmission
    parent: Envelope | None = None
    channel: str = "http"
    extra: dict[str, Any] | None = None  # more fields of the Referral (idempotency_key, ...)


class ReferralIntake:
    def __init__(
        self,
        store: ReferralStore,
        relay: OutboxRelay,
        clock: Clock,
        match_key_entries: Sequence[str],
        agreements: AgreementBook,
        consents: ConsentRecords | None = None,
        *,
        tenancy_key: str,
    ) -> None:
        self.store = store
        self.tenancy_key = tenancy_key  # HEARTH_TENANCY_ID_KEY: tenancy ids are keyed
        self.consents = consents  # the consent each referral came with (issue 16)
        self.relay = relay
        self.clock = clock
        self.agreements = agreements
        self._key_entries = list(match_key_entries)
        self._keyring: Keyring | None = None

    async def require_keys(self) -> None:
        """A startup hook: no match keys is a clear startup error naming the setting, never an
        unkeyed index. At start, not at build, so contracts are generated without a secret."""
        self._keyring = Keyring.parse(self._key_entries)

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            raise MatchKeyError("HEARTH_PERSON_MATCH_KEYS: not loaded (the service did not start)")
        return self._keyring

    async def submit(
        self,
        *,
        referral_id: str,
        organisation: str,
        submission: ReferralSubmission,
        parent: Envelope | None = None,
        channel: str = "http",
        extra: dict[str, Any] | None = None,
    ) -> IntakeResult:
        request = IntakeRequest(referral_id, organisation, submission, parent, channel, extra)
        return (await self.submit_many([request]))[referral_id]

    async def submit_many(self, requests: Sequence[IntakeRequest]) -> dict[str, IntakeResult]:
        """Take referrals in bulk (a poll of referral.intake: thousands of prevention referrals
        in an arrears batch): a handful of round trips for the batch, not per referral."""
        unique: dict[str, IntakeRequest] = {}
        for request in requests:
            unique.setdefault(request.referral_id, request)  # a repeat in the batch: first wins
        now = self.clock.now()
        keys = {rid: self._match_keys(r.submission) for rid, r in unique.items()}
        organisations = {r.organisation for r in unique.values()}
        # Three independent reads at once: which referrals exist already, the partners of the
        # batch's organisations, and who holds the batch's match keys in those organisations
        # (the partners' indexes are read once the partners are known). Read for the whole
        # batch, repeats too: usually one organisation, and few keyed people.
        existing, partners, home_owners = await asyncio.gather(
            self.store.get_many(unique),
            self._partners(organisations, now),
            self.store.key_owners(organisations, (k.value for ks in keys.values() for k in ks)),
        )
        results = {rid: IntakeResult(referral, False) for rid, referral in existing.items()}
        fresh = [r for rid, r in unique.items() if rid not in existing]
        if not fresh:
            return results
        # Only people with strong identifiers need the key claims; the rest cost no I/O here.
        matches = [
            await self._recognise(r, keys[r.referral_id], partners, home_owners, now) for r in fresh
        ]
        people = [(r.organisation, m.person_id) for r, m in zip(fresh, matches, strict=True)]
        # Only people some index may know have an entry, open referrals or closures to read
        # (the same person twice in a batch: the second is not first seen, so it is read).
        known_before = {m.person_id for m in matches if not m.first_seen}
        known, open_referrals = await asyncio.gather(
            self.store.people_of_many(known_before),
            self.store.open_referrals_of(p for p in people if p[1] in known_before),
        )
        uow = UnitOfWork(self.relay)
        # The people index first: it is idempotent, so a crash before the inserts loses nothing.
        self.store.record_referrals_of(
            uow,
            [
                (m.person_id, r.referral_id, r.organisation, m.possible_matches)
                for r, m in zip(fresh, matches, strict=True)
            ],
            now,
            known=known,
        )
        referrals: dict[str, Referral] = {}
        for request, match, person in zip(fresh, matches, people, strict=True):
            linked = list(open_referrals.get(person, []))
            referral, events = self._prepare(
                request, match, known.get(match.person_id, []), linked, now
            )
            # New referrals of a poll are inserted together, their events kept meanwhile in
            # one outbox batch (clearing 500 outboxes was most of the intake's time).
            self.store.add(uow, referral, events)
            if self.consents is not None:
                self.consents.record_at_intake(uow, referral, request.submission, events[0])
            referrals[referral.referral_id] = referral
            if referral.is_open:  # the same person twice in one batch
                open_referrals.setdefault(person, []).append(request.referral_id)
        committed = await uow.commit()
        created = [r for rid, r in referrals.items() if rid in committed.written]
        results.update({r.referral_id: IntakeResult(r, True) for r in created})
        links = UnitOfWork(self.relay)
        for referral in created:
            for open_id in referral.linked_referrals:
                self.store.link(links, open_id, referral.referral_id)
        await links.commit()
        raced = [r.referral_id for r in fresh if r.referral_id not in results]
        if raced:  # another replica took these meanwhile
            for rid, referral in (await self.store.get_many(raced)).items():
                results[rid] = IntakeResult(referral, False)
        return results

    def _prepare(
        self,
        request: IntakeRequest,
        match: MatchDecision,
        closures: list[Closure],
        linked: list[str],
        now: datetime,
    ) -> tuple[Referral, list[Envelope]]:
        """The referral and its events, decided by the pure rules; `linked` are the person's
        open referrals in the organisation, oldest first."""
        submission = own_referrer(request.submission, request.organisation)
        duplicate_of = linked[0] if linked else None
        repeat_reason = repeat_cycle_reason(closures, now)
        outcome = screen(submission, now.date())
        reasons = [*outcome.reasons, *([repeat_reason] if repeat_reason else [])]
        named = submission.tenancy
        tenancy = (
            tenancy_id(named.landlord_organisation, named.tenancy_reference, key=self.tenancy_key)
            if named
            else None
        )
        events = self._events(
            request.referral_id, request.organisation, submission, request.parent, match,
            outcome, reasons, repeat_reason is not None, tenancy, duplicate_of, now,
        )  # fmt: skip
        if named and tenancy:
            # Notices show the landlord its own reference: told on the restricted topic, in
            # the referral's own write (a repeat for a known tenancy is dropped downstream).
            landlord, reference = named.landlord_organisation, named.tenancy_reference
            correlation = events[0].correlationid
            events.append(reference_shared(tenancy, landlord, reference, now, correlation))
        referral = Referral(
            referral_id=request.referral_id,
            organisation=request.organisation,
            channel=request.channel,
            status=ReferralStatus.ASSESSED,
            route=outcome.route,
            reasons=reasons,
            specialist_service=outcome.specialist_service,
            repeat_cycle=repeat_reason is not None,
            person_id=match.person_id,
            matched_on=match.matched_on.value if match.matched_on else None,
            possible_matches=match.possible_matches,
            partner_matches=match.partner_matches,
            possible_duplicate_of=duplicate_of,
            linked_referrals=linked,
            source=submission.source.value,
            automatic=submission.automatic,
            referrer=submission.referrer,
            tenancy_id=tenancy,
            submission=submission.model_dump(mode="json"),
            received_at=now,
            assessed_at=now,
            history=[
                StatusEntry(status=ReferralStatus.RECEIVED, at=now),
                StatusEntry(status=ReferralStatus.ASSESSED, at=now),
            ],
            **(request.extra or {}),
        )
        return referral, events

    async def _partners(self, organisations: set[str], now: datetime) -> dict[str, list[str]]:
        """Each organisation's live person-matching partners now: one read per organisation
        of the batch, checked at the moment of matching."""
        ordered = sorted(organisations)
        snapshots = await asyncio.gather(*(self.agreements.snapshot(org) for org in ordered))
        return {
            org: matching_partners(snapshot, org, now)
            for org, snapshot in zip(ordered, snapshots, strict=True)
        }

    def _match_keys(self, submission: ReferralSubmission) -> list[MatchKey]:
        person = submission.person
        if person is None:
            return []
        return match_keys(
            self.keyring, person.given_name, person.family_name, person.date_of_birth,
            person.ni_number,
        )  # fmt: skip

    async def _recognise(
        self,
        request: IntakeRequest,
        keys: list[MatchKey],
        partners: dict[str, list[str]],
        home_owners: dict[str, dict[str, str]],
        now: datetime,
    ) -> MatchDecision:
        """`home_owners`: who held keys in the organisations of the batch when it began; the
        first attempt decides on them (and the partners' indexes read now), a retry on fresh
        reads. A claim lost meanwhile (the same person twice in one batch) is a retry."""
        referral_id, organisation = request.referral_id, request.organisation
        submission = request.submission
        person = submission.person
        if not keys:
            # No strong identifier: never matched. An automatic referral's household is known by
            # its tenancy, so repeat prevention referrals for one tenancy share a person id
            # (within the organisation: person ids are never shared across organisations).
            # From the keyed tenancy id: a plain hash of the reference could be guessed back.
            named = submission.tenancy
            household = person is None and named is not None
            basis = (
                ("tenancy-household", organisation, tenancy_id(
                    named.landlord_organisation, named.tenancy_reference, key=self.tenancy_key))
                if person is None and named
                else ("referral-person", referral_id)
            )  # fmt: skip
            # A household is referred again and again; a referral's own person never is.
            return MatchDecision(f"p-{stable_id(*basis)}", None, [], first_seen=not household)
        # Derived from the referral id, so a retried intake proposes the same new person.
        new_person_id = f"p-{stable_id('person', referral_id)}"
        decision = MatchDecision(new_person_id, None, [])
        others = partners.get(organisation, [])
        values = [k.value for k in keys]
        for attempt in range(CLAIM_ATTEMPTS):
            if attempt == 0:
                home = home_owners.get(organisation, {})
                owners = {organisation: {v: home[v] for v in values if v in home}}
                owners.update(await self.store.key_owners(others, values))
            else:
                owners = await self.store.key_owners([organisation, *others], values)
            people = {p for found in owners.values() for p in found.values()}
            held = await self.store.keys_of(people)
            decision = decide(keys, owners[organisation], held, new_person_id)
            claims = [
                await self.store.claim_key(organisation, k.value, decision.person_id, now)
                for k in decision.keys_to_claim
            ]
            if all(holder == decision.person_id for holder, _ in claims):
                # A new person whose keys were all claimed by this very call: no other
                # referral can have been given this person id yet.
                first_seen = (
                    decision.is_new
                    and decision.person_id == new_person_id
                    and all(given for _, given in claims)
                )
                found = _with_partners(decision, keys, owners, organisation, held)
                return replace(found, first_seen=first_seen)
            # Another referral of the same person claimed a key meanwhile: decide again.
        return _with_partners(decision, keys, owners, organisation, held)

    def _events(
        self,
        referral_id: str,
        organisation: str,
        submission: ReferralSubmission,
        parent: Envelope | None,
        match: MatchDecision,
        outcome: ScreeningResult,
        reasons: list[str],
        repeat_cycle: bool,
        tenancy: str | None,
        duplicate_of: str | None,
        now: datetime,
    ) -> list[Envelope]:
        received_data = ReferralReceived(
            case_id=referral_id,
            person_id=match.person_id,
            referrer=submission.referrer,
            received_at=now,
            support_needs=submission.support_needs,
            tenancy_id=tenancy,
            automatic=submission.automatic,
            possible_duplicate_of=duplicate_of,
        )
        if parent is None:
            received = make_event(
                received_data,
                source=SOURCE,
                organisation=organisation,
                event_id=stable_id(referral_id, SOURCE, "ReferralReceived"),
                time=now,
            )
        else:
            received = follow_on(
                parent, received_data, source=SOURCE, time=now, organisation=organisation
            )
        assessed = ReferralAssessed(
            case_id=referral_id,
            person_id=match.person_id,
            route=outcome.route,
            reasons=reasons,
            referrer=submission.referrer,
            received_at=now,
            support_needs=submission.support_needs,
            date_facing_homelessness=submission.urgency.date_facing_homelessness,
            legal_stage=submission.urgency.legal_stage,
            risk_level=submission.urgency.risk_level,
            repeat_cycle=repeat_cycle,
            tenancy_id=tenancy,
            referring_area=submission.referring_area,
            specialist_service=outcome.specialist_service,
            possible_duplicate_of=duplicate_of,
            entry_stage=entry_stage(
                outcome.route, submission.source, in_crisis(submission.urgency)
            ),
        )
        events = [received, follow_on(received, assessed, source=SOURCE, time=now)]
        contact = contact_details(referral_id, match.person_id, submission)
        if contact is not None:
            events.append(follow_on(received, contact, source=SOURCE, time=now))
        return events


def _with_partners(
    decision: MatchDecision,
    keys: Sequence[MatchKey],
    owners: dict[str, dict[str, str]],
    organisation: str,
    held: dict[str, list[str]],
) -> MatchDecision:
    """Which agreed partners know the person too: organisations only, never their person ids."""
    partners = {o: found for o, found in owners.items() if o != organisation}
    return replace(decision, partner_matches=partner_matches(keys, partners, held))


def own_referrer(submission: ReferralSubmission, organisation: str) -> ReferralSubmission:
    """A person's referral is made by the organisation it arrived from (the caller over HTTP,
    the ingress topic's owner on Kafka), whatever its body names, so notices about it never go
    to another organisation's mailbox. An automatic referral keeps its landlord: the arrears
    part, not a partner, writes it, for the council it is sent to."""
    named = submission.referrer.organisation
    if named == organisation or (submission.automatic and named is not None):
        return submission
    referrer = submission.referrer.model_copy(update={"organisation": organisation})
    return submission.model_copy(update={"referrer": referrer})


def contact_details(
    referral_id: str, person_id: str, submission: ReferralSubmission
) -> ContactDetailsShared | None:
    """What notifications may know, only with consent to share, and only for the channels the
    person allows (no channels listed: the ones they gave details for)."""
    person, contact, consent = submission.person, submission.contact, submission.consent
    if person is None or contact is None or consent is None or not consent.to_share:
        return None
    if consent.purposes is not None and ConsentPurpose.CONTACT not in consent.purposes:
        return None  # the person may not be contacted (issue 16)
    allowed = set(consent.channels_allowed) or set(Channel)
    phone_ok = bool(allowed & {Channel.SMS, Channel.WHATSAPP, Channel.PHONE})
    return ContactDetailsShared(
        person_id=person_id,
        case_id=referral_id,
        display_name=person.display_name,
        email=contact.email if Channel.EMAIL in allowed else None,
        mobile=(contact.mobile or None) if phone_ok else None,
        postal_address=contact.postal_address if Channel.LETTER in allowed else [],
        preferred_channels=[c.value for c in contact.preferred_channels if c in allowed],
        consented_channels=[c.value for c in consent.channels_allowed],
        share_with=consent.share_with,
        consent_version=1,  # the case's consent as recorded at intake
    )
