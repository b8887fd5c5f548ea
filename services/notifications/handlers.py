"""Thin event handlers: keep the small projections, plan with the routing rules, record one
delivery per (fact, recipient, channel), each step one unit of work (`store.unit()`): related
events about one fact (a TenancyAtRisk and the CaseEscalated it caused, `facts.py`) notify
each recipient once. Sending happens in the worker, not here."""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar, cast

from pymongo.errors import AutoReconnect, OperationFailure

from services.notifications.consent import contact_allowed
from services.notifications.facts import fact_key
from services.notifications.poll_reads import PollAgreements, PollReferences
from services.notifications.routing import (
    CaseFacts,
    PlannedDelivery,
    RoutingInput,
    landlord_of,
    needs_agreements,
    needs_client_contact,
)
from services.notifications.routing import personalisation as personalise
from services.notifications.routing import plan as plan_deliveries
from services.notifications.routing_rules import Role
from services.notifications.store import (
    PENDING,
    SUPPRESSED,
    Attempt,
    CaseRecord,
    ContactRecord,
    DeliveryRecord,
    LetterRecord,
    NotificationStore,
    TenancyReferenceRecord,
)
from services.notifications.templates import (
    DEFAULT_TEMPLATES,
    TENANCY_REFERENCE,
    EmptyPlaceholder,
    Template,
    render,
    shows,
)
from shared.agreement_book import AgreementBook
from shared.agreements import DataCategory, Purpose
from shared.clock import Clock
from shared.consumer import BatchHandler, EventConsumer, Handler, stretches
from shared.events.catalogue import (
    CaseAllocated,
    CaseClosed,
    CaseEscalated,
    CaseReallocated,
    ConsentChanged,
    ContactDetailsShared,
    EventData,
    ReferralAssessed,
    ReferralReceived,
    ReviewDue,
    TenancyAtRisk,
    TenancyReferenceShared,
)
from shared.events.envelope import Envelope
from shared.events.reconnection_events import (
    PRESENTATION_PACK_TEMPLATE,
    PresentationPackForDelivery,
)
from shared.ids import stable_id
from shared.logging import get_logger

log = get_logger(__name__)
BUSY_MARKERS = ("database is locked", "SQLITE_BUSY")
HandlerT = TypeVar("HandlerT", Handler, BatchHandler)


def busy_is_transient(handler: HandlerT) -> HandlerT:
    """A database too busy to write (FerretDB on SQLite under load) is an outage, not bad
    input: re-raised as a connection failure so the consumer pauses and retries the batch
    instead of dead-lettering the event."""

    @functools.wraps(handler)
    async def wrapped(*args: Any) -> None:
        try:
            await handler(*args)
        except OperationFailure as exc:
            if any(marker in str(exc) for marker in BUSY_MARKERS):
                raise AutoReconnect(f"database busy: {exc}") from exc
            raise

    return cast(HandlerT, wrapped)


def delivery_id(fact: str, recipient_key: str, channel: str | None) -> str:
    """One notification per (fact, recipient, channel): the unique key of the delivery log, so
    a second event telling the same fact (or the same event again) inserts nothing."""
    return stable_id(fact, recipient_key, channel or "none")


def bulk_kind(data: EventData) -> type[EventData] | None:
    """Which bulk path an event takes in `on_case_events` (None: handled alone)."""
    if isinstance(data, ReferralReceived | ReferralAssessed):
        return ReferralReceived
    if isinstance(data, CaseAllocated):
        return CaseAllocated
    if isinstance(data, CaseEscalated | ReviewDue):
        return CaseEscalated  # routed on the case's facts as they stand, learning nothing
    return None


@dataclass(frozen=True)
class Planning:
    """One event to plan deliveries for, with what this service knows of its case."""

    envelope: Envelope
    data: EventData
    case_id: str
    person_id: str | None
    case: CaseFacts | None

    @property
    def person(self) -> str | None:
        """The person the plan may write to: the event's, else the case's."""
        return self.person_id or (self.case.person_id if self.case else None)


def allocated_facts(envelope: Envelope, data: CaseAllocated) -> CaseRecord:
    return CaseRecord(
        case_id=data.case_id,
        organisation=envelope.organisation,
        person_id=data.person_id,
        lead_worker_id=data.lead_worker_id,
        lead_worker_email=data.lead_worker_email,
        team_leader_id=data.team_leader_id,
        team_leader_email=data.team_leader_email,
        tenancy_id=data.tenancy_id,
        referrer_organisation=data.referrer_organisation,
        open=True,
    )


def referral_facts(envelope: Envelope, data: ReferralReceived | ReferralAssessed) -> CaseRecord:
    return CaseRecord(
        case_id=data.case_id,
        organisation=envelope.organisation,
        person_id=data.person_id,
        referrer_organisation=data.referrer.organisation,
        referrer_email=data.referrer.email,
        tenancy_id=data.tenancy_id,
    )


class NotificationHandlers:
    def __init__(
        self,
        store: NotificationStore,
        clock: Clock,
        wake: Callable[[], None],
        book: AgreementBook,
    ) -> None:
        self.store = store
        self.clock = clock
        self.wake = wake
        self.book = book  # notices to other organisations go only under a live agreement

    def register(self, consumer: EventConsumer) -> None:
        # Referral and case events in one batch handler: stretches of the busy kinds (an
        # arrears batch raises and allocates thousands of referrals) go in bulk, and each
        # case's events keep their order (a referral's facts before its allocation's plan).
        consumer.on_batch(
            ReferralReceived,
            ReferralAssessed,
            ContactDetailsShared,
            ConsentChanged,
            CaseAllocated,
            CaseReallocated,
            CaseClosed,
            CaseEscalated,
            ReviewDue,
        )(busy_is_transient(self.on_case_events))
        consumer.on_batch(TenancyAtRisk)(busy_is_transient(self.on_tenancies_at_risk))
        consumer.on_batch(TenancyReferenceShared)(busy_is_transient(self.on_tenancy_references))
        consumer.on(PresentationPackForDelivery)(busy_is_transient(self.on_presentation_pack))

    # --- handlers -----------------------------------------------------------------------------

    async def on_contact_details(self, envelope: Envelope, data: ContactDetailsShared) -> None:
        if data.consent_version is not None:
            consent = await self.store.consent(data.case_id)
            if consent is not None and not contact_allowed(consent, data.consent_version):
                return  # shared under a consent since withdrawn: not kept (issue 16)
        uow = self.store.unit()
        contact = ContactRecord.model_validate(data.model_dump(mode="json"))
        self.store.learn_contact(uow, contact, envelope.id)
        await uow.commit()

    async def on_consent_changed(self, envelope: Envelope, data: ConsentChanged) -> None:
        """Keep the case's consent (the newest); one that no longer covers contact drops the
        contact details shared under an earlier one, from this moment."""
        consent = data.consent()
        uow = self.store.unit()
        self.store.learn_consent(uow, consent, envelope.id)
        await uow.commit()
        if not contact_allowed(consent, consent.version):
            await self.store.drop_contacts(consent.case_id, consent.version + 1)

    async def on_referrals(
        self, batch: list[tuple[Envelope, ReferralReceived | ReferralAssessed]]
    ) -> None:
        # An arrears batch raises thousands of referrals: a few round trips per poll.
        await self.learn_cases(
            (envelope, referral_facts(envelope, data)) for envelope, data in batch
        )
        cases = await self.store.cases_facts(data.case_id for _, data in batch)
        planning = [
            Planning(envelope, data, data.case_id, data.person_id, cases.get(data.case_id))
            for envelope, data in batch
        ]
        await self.record_deliveries(await self.deliveries_of(planning))

    async def on_case_events(self, batch: list[tuple[Envelope, Any]]) -> None:
        for kind, stretch in stretches(batch, bulk_kind):
            if kind is ReferralReceived:
                await self.on_referrals(stretch)
            elif kind is CaseAllocated:
                await self.on_allocations(stretch)
            elif kind is CaseEscalated:
                await self.on_routed(stretch)
            else:
                for envelope, data in stretch:
                    await self.on_one(envelope, data)

    async def on_one(self, envelope: Envelope, data: Any) -> None:
        if isinstance(data, ContactDetailsShared):
            await self.on_contact_details(envelope, data)
        elif isinstance(data, ConsentChanged):
            await self.on_consent_changed(envelope, data)
        elif isinstance(data, CaseReallocated):
            await self.on_reallocated(envelope, data)
        elif isinstance(data, CaseClosed):
            await self.on_closed(envelope, data)
        else:
            await self.on_case_event(envelope, data)

    async def on_allocations(self, batch: list[tuple[Envelope, CaseAllocated]]) -> None:
        # An arrears batch allocates thousands of prevention referrals: the projection in one
        # bulk write, the facts in one read, every delivery in one insert.
        await self.learn_cases(
            (envelope, allocated_facts(envelope, data)) for envelope, data in batch
        )
        facts = await self.store.cases_facts(data.case_id for _, data in batch)
        planning = [
            Planning(envelope, data, data.case_id, data.person_id, facts.get(data.case_id))
            for envelope, data in batch
        ]
        await self.record_deliveries(await self.deliveries_of(planning))

    async def on_reallocated(self, envelope: Envelope, data: CaseReallocated) -> None:
        facts = CaseRecord(
            case_id=data.case_id,
            organisation=envelope.organisation,
            lead_worker_id=data.lead_worker_id,
            lead_worker_email=data.lead_worker_email,
            team_leader_id=data.team_leader_id,
            team_leader_email=data.team_leader_email,
        )
        await self.learn_cases([(envelope, facts)])
        await self.route(envelope, data, data.case_id, None)

    async def on_closed(self, envelope: Envelope, data: CaseClosed) -> None:
        facts = CaseRecord(
            case_id=data.case_id,
            organisation=envelope.organisation,
            person_id=data.person_id,
            open=False,
        )
        await self.learn_cases([(envelope, facts)])
        await self.route(envelope, data, data.case_id, data.person_id)

    async def on_case_event(self, envelope: Envelope, data: CaseEscalated | ReviewDue) -> None:
        await self.on_routed([(envelope, data)])

    async def on_routed(self, batch: list[tuple[Envelope, CaseEscalated | ReviewDue]]) -> None:
        """Escalations (a support case's worsening risk) and review notices: the cases' facts
        in one read, the deliveries planned together and inserted in one write."""
        facts = await self.store.cases_facts(data.case_id for _, data in batch)
        planning = [
            Planning(envelope, data, data.case_id, None, facts.get(data.case_id))
            for envelope, data in batch
        ]
        await self.record_deliveries(await self.deliveries_of(planning))

    async def on_tenancies_at_risk(self, batch: list[tuple[Envelope, TenancyAtRisk]]) -> None:
        # The busiest stream: three reads for the whole poll (the cases, and the landlords'
        # references the notices show), the landlords' agreements once each, cached
        # settings, one insert.
        named = await self.store.cases_facts(d.case_id for _, d in batch if d.case_id)
        by_tenancy = await self.store.open_cases_for_tenancies(
            d.tenancy_id for _, d in batch if not d.case_id
        )
        book = PollAgreements(self.book)
        heard: list[Planning] = []
        for envelope, data in batch:
            case = named.get(data.case_id) if data.case_id else by_tenancy.get(data.tenancy_id)
            if case is None:
                continue  # no open case known here: referral raises a prevention referral
            if not data.case_id and not await self.tenancy_data_shared(data.landlord, case, book):
                continue  # another organisation's claim on the tenancy, not confirmed
            heard.append(Planning(envelope, data, case.case_id, None, case))
        tenancy_ids = [cast(TenancyAtRisk, p.data).tenancy_id for p in heard]
        known = await self.store.tenancy_references_of(tenancy_ids)
        references = PollReferences(self.store, tenancy_ids, known)
        await self.record_deliveries(await self.deliveries_of(heard, references, book))

    async def on_tenancy_references(
        self, batch: list[tuple[Envelope, TenancyReferenceShared]]
    ) -> None:
        """Keep the landlord's reference of each tenancy id, for the notices that show it; a
        poll's worth in one unit, a repeat changing nothing."""
        uow = self.store.unit()
        for envelope, data in batch:
            record = TenancyReferenceRecord.model_validate(data.model_dump(mode="json"))
            self.store.learn_tenancy_reference(uow, record, envelope.id)
        await uow.commit()

    async def on_presentation_pack(
        self, envelope: Envelope, data: PresentationPackForDelivery
    ) -> None:
        """Safe Connections Phase 5 (issue 20): the pack reconnection generated and keeps is
        emailed to the destination's Housing Options officer, its PDF attached, as soon as it
        is due (the day before the presentation). The PDF is kept as the delivery's letter
        before the delivery is recorded, so the worker always finds it."""
        if not data.recipient_email or not data.pdf_base64:
            return  # no email for the destination authority: the case shows it undelivered
        channel = "email"
        recipient_key = f"housing_options:{data.recipient_email.lower()}"
        record_id = delivery_id(envelope.id, recipient_key, channel)
        now = self.clock.now()
        await self.store.save_letter(
            LetterRecord(
                delivery_id=record_id,
                organisation=envelope.organisation,
                pdf=base64.b64decode(data.pdf_base64),
                at=now,
            )
        )
        record = DeliveryRecord(
            delivery_id=record_id,
            organisation=envelope.organisation,
            case_id=data.case_id,
            trigger_event_id=envelope.id,
            trigger_event_type=PresentationPackForDelivery.TYPE,
            correlation_id=envelope.correlationid,
            recipient_role="housing_options",
            recipient_key=recipient_key,
            recipient_org=data.recipient_organisation,
            channel=channel,
            address=data.recipient_email,
            template=PRESENTATION_PACK_TEMPLATE,
            urgent=True,
            status=PENDING,
            created_at=now,
            updated_at=now,
            due_at=now,
            subject=data.email_subject or f"Presentation pack: {data.destination_area}",
            body=data.covering_letter or "",
            letter=True,
        )
        await self.record_deliveries([record])

    async def tenancy_data_shared(
        self, landlord: str, case: CaseFacts, book: AgreementBook | None = None
    ) -> bool:
        """A case found by tenancy (not named by referral's own check) hears of the landlord's
        alert only when it is the landlord's, or under a live tenancy-data agreement."""
        decision = await (book or self.book).check(
            from_organisation=landlord,
            to_organisation=case.organisation,
            purpose=Purpose.TENANCY_DATA,
            categories=(DataCategory.TENANCY, DataCategory.ARREARS),
            at=self.clock.now(),
        )
        return bool(decision)

    # --- writing ------------------------------------------------------------------------------

    async def learn_cases(self, learned: Iterable[tuple[Envelope, CaseRecord]]) -> None:
        """What each event tells about its case, in one unit: a poll's worth in bulk, and an
        event seen before changes nothing."""
        uow = self.store.unit()
        for envelope, facts in learned:
            self.store.learn_case(uow, facts, envelope.id)
        await uow.commit()

    async def record_deliveries(self, records: list[DeliveryRecord]) -> None:
        """One insert for the lot; the worker is woken if anything new is due."""
        uow = self.store.unit()
        self.store.add_deliveries(uow, records)
        if (await uow.commit()).written:
            self.wake()

    # --- routing ------------------------------------------------------------------------------

    async def route(
        self,
        envelope: Envelope,
        data: EventData,
        case_id: str,
        person_id: str | None,
        case: CaseFacts | None = None,
    ) -> None:
        if case is None:
            case = await self.store.case_facts(case_id)
        await self.record_deliveries(
            await self.deliveries(envelope, data, case_id, person_id, case)
        )

    async def deliveries(
        self,
        envelope: Envelope,
        data: EventData,
        case_id: str,
        person_id: str | None,
        case: CaseFacts | None,
    ) -> list[DeliveryRecord]:
        """The delivery records the routing rules plan for one event (not yet stored)."""
        return await self.deliveries_of([Planning(envelope, data, case_id, person_id, case)])

    async def deliveries_of(
        self,
        events: list[Planning],
        references: PollReferences | None = None,
        book: AgreementBook | None = None,
    ) -> list[DeliveryRecord]:
        """The delivery records the routing rules plan for a poll's events (not yet stored),
        with the same reads for the lot however many events: each organisation's agreements
        once, the contacts and consents of the cases whose plans involve the person in one
        read each, the landlords' tenancy references in one read when a notice shows one."""
        book = book or PollAgreements(self.book)
        inputs = [await self.routing_input(p) for p in events]
        if references is None:
            tenancy_ids = [inp.fields.get("tenancy_id") for inp in inputs]
            tenancy_ids += [inp.case.tenancy_id for inp in inputs if inp.case]
            references = PollReferences(self.store, tenancy_ids)
        plans = [plan_deliveries(inp) for inp in inputs]
        # Agreements are read only when a plan reaches another organisation, and checked at
        # this moment: a notice without one is recorded as held, never sent.
        for i, inp in enumerate(inputs):
            if needs_agreements(plans[i], inp.case_org):
                agreements = tuple(await book.snapshot(inp.case_org))
                inputs[i] = replace(inp, agreements=agreements, at=self.clock.now())
                plans[i] = plan_deliveries(inputs[i])
        # The person's contact details and consent are read only when a plan involves them
        # (keeps the busy TenancyAtRisk path to one read and one insert).
        involved = [
            i for i, inp in enumerate(inputs) if needs_client_contact(plans[i], inp.case_org)
        ]
        if involved:
            people = {i: (events[i].case_id, events[i].person) for i in involved}
            contacts = await self.store.contacts_of(people.values())
            # The case's consent is asked here, and again just before each send (worker).
            consents = await self.store.consents_of(case_id for case_id, _ in people.values())
            at = self.clock.now()
            for i in involved:
                client, consent = contacts.get(people[i]), consents.get(events[i].case_id)
                inputs[i] = replace(inputs[i], client=client, consent=consent, at=at)
                plans[i] = plan_deliveries(inputs[i])
        now = self.clock.now()
        return [
            await self.delivery_record(p.envelope, inp, delivery, p.case_id, now, references)
            for p, inp, planned in zip(events, inputs, plans, strict=True)
            for delivery in planned
        ]

    async def routing_input(self, planning: Planning) -> RoutingInput:
        """One event's routing input with the settings of the organisations it may reach."""
        envelope, data, case = planning.envelope, planning.data, planning.case
        fields = data.model_dump(mode="json")
        event_type = type(data).TYPE
        probe = RoutingInput(event_type, envelope.organisation, fields, case)
        referrer = fields.get("referrer") or {}
        organisations = [
            probe.case_org,
            referrer.get("organisation") or (case.referrer_organisation if case else None),
            landlord_of(probe),
            *(fields.get("involved_organisations") or []),
        ]
        settings = await self.store.org_settings_for([o for o in organisations if o])
        return RoutingInput(event_type, envelope.organisation, fields, case, None, settings)

    async def delivery_record(
        self,
        envelope: Envelope,
        inp: RoutingInput,
        planned: PlannedDelivery,
        case_id: str,
        now: datetime,
        references: PollReferences,
    ) -> DeliveryRecord:
        template = await self.store.template(inp.case_org, planned.template)
        channel = str(planned.channel) if planned.channel else None
        fact = fact_key(inp.event_type, envelope.id, envelope.causationid, case_id)
        record = DeliveryRecord(
            delivery_id=delivery_id(fact, planned.recipient_key, channel),
            fact_id=fact if fact != envelope.id else None,
            organisation=inp.case_org,
            case_id=case_id,
            trigger_event_id=envelope.id,
            trigger_event_type=inp.event_type,
            correlation_id=envelope.correlationid,
            recipient_role=str(planned.recipient_role),
            recipient_key=planned.recipient_key,
            recipient_org=planned.recipient_org,
            channel=channel,
            address=planned.address,
            template=template.key,
            urgent=planned.urgent,
            status=PENDING,
            created_at=now,
            updated_at=now,
        )
        if planned.suppressed_reason:
            return suppressed(record, planned.suppressed_reason, now)
        values = personalise(inp, planned)
        try:
            subject, body = await self.rendered(template, values, references)
        except EmptyPlaceholder as exc:
            default = DEFAULT_TEMPLATES[template.key]
            if template == default:  # never for a routed event: tests/unit/notifications
                return suppressed(record, str(exc), now)
            # The organisation's version names a value this event does not carry: the
            # default says it, rather than a blank or no message at all.
            log.warning("notifications.template_fallback", template=template.key, field=exc.name)
            template = default
            try:
                subject, body = await self.rendered(template, values, references)
            except EmptyPlaceholder as again:
                return suppressed(record, str(again), now)
        letter_address = None
        if template.letter and planned.recipient_role is Role.CLIENT and inp.client:
            lines = [inp.client.display_name, *inp.client.postal_address]
            letter_address = [line for line in lines if line]
        return record.model_copy(
            update={
                "due_at": now,
                "subject": subject,
                "body": body,
                "letter": template.letter,
                "provider_template_id": template.provider_template_id,
                "personalisation": values if channel in ("sms", "letter") else None,
                "letter_address": letter_address,
            }
        )

    async def rendered(
        self, template: Template, values: dict[str, str], references: PollReferences
    ) -> tuple[str, str]:
        """(subject, body); EmptyPlaceholder when a placeholder has no value."""
        if shows(template, TENANCY_REFERENCE) and TENANCY_REFERENCE not in values:
            reference = await references.reference(values.get("tenancy_id"))
            values[TENANCY_REFERENCE] = reference
        return render(template.subject, values), render(template.body, values)


def suppressed(record: DeliveryRecord, reason: str, now: datetime) -> DeliveryRecord:
    """A delivery recorded as not sent, with why."""
    return record.model_copy(
        update={
            "status": SUPPRESSED,
            "reason": reason,
            "attempt_log": [Attempt(at=now, outcome="suppressed", reason=reason)],
        }
    )
