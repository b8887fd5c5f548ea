"""Thin Kafka handlers: arrears alerts from partners, and the case events the projection of
open cases by tenancy is built from."""

from __future__ import annotations

from pydantic import ValidationError

from services.referral.arrears.alert import (
    AlertSubmission,
    ArrearsAlert,
    ForeignTenancy,
    submission_for,
)
from services.referral.arrears.decision import CaseStatus
from services.referral.arrears.pipeline import AlertPipeline
from services.referral.arrears.release import HeldFlowRelease
from services.referral.arrears.store import ArrearsStore, CaseChange
from shared.agreement_book import AgreementBook
from shared.codes import Route
from shared.consumer import EventConsumer, PermanentError
from shared.events.agreement_events import AgreementChanged
from shared.events.case_events import CaseAllocated, CaseClosed
from shared.events.consent_events import ConsentChanged
from shared.events.envelope import Envelope
from shared.events.referral_events import ArrearsAlertSubmitted, ReferralAssessed, ReferralReceived
from shared.validation import printable

NOT_OPENED = {Route.DECLINED, Route.SPECIALIST}  # referred elsewhere: no case of ours


def validation_reason(exc: ValidationError, prefix: str = "") -> str:
    first = exc.errors()[0]
    where = ".".join(printable(str(p)) for p in first["loc"]) or "body"
    return f"{prefix}{where}: {first['msg']}"


def alert_from_event(
    envelope: Envelope, data: ArrearsAlertSubmitted, tenancy_key: str
) -> AlertSubmission:
    """The landlord is the organisation that published the event; the alert is validated by
    the same model as the webhook and the CSV rows. Bad input -> PermanentError naming it."""
    try:
        alert = ArrearsAlert.model_validate(data.model_dump(exclude_none=True))
        return submission_for(
            alert,
            envelope.organisation,
            key=tenancy_key,
            alert_id=envelope.id,
            correlation_id=envelope.correlationid,
            causation_id=envelope.id,
            sent_at=envelope.time,
        )
    except ValidationError as exc:
        raise PermanentError(validation_reason(exc, "data.")) from exc
    except ForeignTenancy as exc:
        raise PermanentError(f"data.{exc}") from exc


def register_handlers(
    consumer: EventConsumer,
    store: ArrearsStore,
    pipeline: AlertPipeline,
    book: AgreementBook,
    release: HeldFlowRelease,
    *,
    tenancy_key: str,
) -> None:
    @consumer.on_batch(ArrearsAlertSubmitted)
    async def alerts_submitted(events: list[tuple[Envelope, ArrearsAlertSubmitted]]) -> None:
        # One call per poll: the whole batch goes through the pipeline in bulk. Bad alerts
        # are raised after the good ones are recorded; the consumer then handles the batch
        # one event at a time, where the good ones are duplicates and the bad one is
        # dead-lettered alone.
        subs: list[AlertSubmission] = []
        problems: list[PermanentError] = []
        for envelope, data in events:
            try:
                subs.append(alert_from_event(envelope, data, tenancy_key))
            except PermanentError as exc:
                problems.append(exc)
        await pipeline.process(subs)
        if problems:
            raise problems[0]

    @consumer.on_batch(ReferralReceived, ReferralAssessed, CaseAllocated, CaseClosed)
    async def case_events(events: list[tuple[Envelope, CaseEvent]]) -> None:
        # An arrears batch raises thousands of referrals: one bulk write per poll.
        changes = [
            change
            for envelope, data in events
            if (change := case_change(data, envelope.organisation)) is not None
        ]
        await store.record_cases(changes)
        await release.claims_arrived(changes)

    @consumer.on(ConsentChanged)
    async def consent_changed(envelope: Envelope, data: ConsentChanged) -> None:
        # Claims held for the case's consent are released once it covers them again (read
        # from the record, so an old event redelivered decides on the consent as it is now).
        await release.consent_changed(data.case_id)

    @consumer.on(AgreementChanged)
    async def agreement_changed(envelope: Envelope, data: AgreementChanged) -> None:
        # This group's own copy first (the referral group keeps the same book): a release
        # must see the agreement it was woken by.
        agreement = data.agreement()
        await book.apply(agreement)
        await release.agreement_changed(agreement)


CaseEvent = ReferralReceived | ReferralAssessed | CaseAllocated | CaseClosed


def case_change(data: CaseEvent, organisation: str | None = None) -> CaseChange | None:
    """What a case event means for the projection of cases by tenancy (None: nothing).
    `organisation` owns the case: another than the landlord is a claim, linked only under an
    agreement (`TenancyState.linked`)."""
    if not data.tenancy_id:
        return None
    if isinstance(data, CaseAllocated):
        return CaseChange(
            data.tenancy_id, data.case_id, CaseStatus.OPEN, data.allocated_at, organisation
        )
    if isinstance(data, CaseClosed) or (
        isinstance(data, ReferralAssessed) and data.route in NOT_OPENED
    ):
        return CaseChange(data.tenancy_id, data.case_id, CaseStatus.CLOSED, None, organisation)
    return CaseChange(data.tenancy_id, data.case_id, CaseStatus.PENDING, None, organisation)
