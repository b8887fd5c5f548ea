"""Grant (or end) a data-sharing agreement in tests without the agreements service: publish
the `AgreementChanged` envelopes it would, to the real broker, so every service's
`AgreementBook` replica takes them from its own consumer exactly as in production.

    agreement = await grant_agreement(
        settings, "derby-homes", "derby-council", Purpose.ARREARS_PREVENTION
    )
    ...
    await end_agreement(settings, agreement)

`settings` are the test's (its topic prefix); without them, from the environment (HEARTH_*).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from shared.agreements import Agreement, AgreementStatus, DataCategory, Purpose
from shared.events.agreement_events import AgreementChanged
from shared.events.envelope import Envelope, make_event
from shared.ids import new_id
from shared.kafka import EventPublisher, ensure_topics, make_broker
from shared.settings import HearthSettings, get_settings

SOURCE = "agreements"
# Long before any test's business clock, so a granted agreement is live whatever "now" is.
DEFAULT_START = datetime(2000, 1, 1, tzinfo=UTC)


async def grant_agreement(
    settings: HearthSettings | None,
    proposed_by: str,
    counterparty: str,
    purpose: Purpose,
    categories: Iterable[DataCategory] = tuple(DataCategory),
    *,
    starts: datetime = DEFAULT_START,
    ends: datetime | None = None,
    agreement_id: str | None = None,
) -> Agreement:
    """An agreement proposed by `proposed_by` and accepted by `counterparty` (version 2)."""
    agreement = Agreement(
        agreement_id=agreement_id or new_id("agr"),
        proposed_by=proposed_by,
        counterparty=counterparty,
        purpose=purpose,
        categories=frozenset(categories),
        starts=starts,
        ends=ends,
        status=AgreementStatus.PROPOSED,
        version=1,
    )
    active = agreement.model_copy(update={"status": AgreementStatus.ACTIVE, "version": 2})
    await publish_agreements(
        settings,
        _changed(agreement, "proposed", proposed_by),
        _changed(active, "accepted", counterparty),
    )
    return active


async def end_agreement(
    settings: HearthSettings | None,
    agreement: Agreement,
    *,
    at: datetime | None = None,
    by: str | None = None,
) -> Agreement:
    """The agreement ended (by its proposer unless `by`), from `at` (now by default)."""
    at = at or datetime.now(UTC)
    ends = max(at, agreement.starts)
    if agreement.ends is not None and agreement.ends < ends:
        ends = agreement.ends
    ended = agreement.model_copy(
        update={"status": AgreementStatus.ENDED, "ends": ends, "version": agreement.version + 1}
    )
    await publish_agreements(settings, _changed(ended, "ended", by or agreement.proposed_by))
    return ended


async def publish_agreements(settings: HearthSettings | None, *envelopes: Envelope) -> None:
    """Publish through the producer setup the services use (acks=all, idempotent)."""
    settings = settings or get_settings()
    await ensure_topics(settings)  # a replica may not have started yet: the topic must exist
    broker = make_broker(settings)
    await broker.connect()
    try:
        await EventPublisher(broker, settings).publish_many(envelopes)
    finally:
        await broker.stop()


def agreement_changed(agreement: Agreement, change: str, by: str) -> Envelope:
    """The envelope the agreements service publishes for this version of `agreement`."""
    return _changed(agreement, change, by)


def _changed(agreement: Agreement, change: str, by: str) -> Envelope:
    data = AgreementChanged.of(agreement, change, by)
    return make_event(
        data,
        source=SOURCE,
        organisation=by,
        correlation_id=agreement.agreement_id,
        time=datetime.now(UTC),
    )
