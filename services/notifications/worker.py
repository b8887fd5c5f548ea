"""The delivery worker: claims due deliveries, sends them through their channel, records each
attempt, retries with backoff, parks what keeps failing. Runs beside the consumer, so a slow
SMTP server never holds up the event stream. Outcomes are recorded through the unit of work:
a wave's sends in one bulk write, each once (its NotificationSent id marks it)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from services.notifications.channels import ChannelSender, DeliveryFailed, OutboundMessage
from services.notifications.consent import CLIENT_ROLE, consent_refusal
from services.notifications.letters import render_letter_pdf
from services.notifications.retry import RetryPolicy, after_failure
from services.notifications.routing import RECEIPT_ONLY
from services.notifications.settings import NotificationSettings
from services.notifications.store import DeliveryRecord, LetterRecord, NotificationStore
from shared.clock import Clock
from shared.events.catalogue import NotificationFailed, NotificationSent
from shared.events.envelope import Envelope, make_event
from shared.ids import stable_id
from shared.logging import get_logger
from shared.redaction import safe_error

SOURCE = "hearth/notifications"
log = get_logger(__name__)


class DeliveryWorker:
    def __init__(
        self,
        store: NotificationStore,
        senders: dict[str, ChannelSender],
        clock: Clock,
        settings: NotificationSettings,
    ) -> None:
        self.store = store
        self.senders = senders
        self.clock = clock
        self.settings = settings
        self.policy = RetryPolicy(
            settings.delivery_max_attempts,
            settings.delivery_backoff_seconds,
            settings.delivery_backoff_max_seconds,
        )
        self._wake = asyncio.Event()
        self._semaphore = asyncio.Semaphore(settings.delivery_concurrency)
        # Sends run wide; recording them runs narrow, so the worker never crowds the consumer
        # out of the database (FerretDB on SQLite has one writer at a time).
        self._writes = asyncio.Semaphore(max(1, settings.delivery_concurrency // 8))

    def wake(self) -> None:
        """New work was recorded: look now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            handled = 0
            self._wake.clear()  # work recorded from here on wakes the next wait
            try:
                handled = await self.run_once()
            except Exception as exc:  # the database may be away; try again next round
                log.warning("notifications.worker_failed", error=safe_error(exc))
            if handled >= self.settings.delivery_batch_size:
                continue  # more waiting
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED),
                    self.settings.delivery_poll_seconds,
                )
            for waiter in waiters:
                waiter.cancel()

    async def run_once(self) -> int:
        now = self.clock.now()
        lease = timedelta(seconds=self.settings.delivery_lease_seconds)
        claimed = await self.store.claim_due(now, lease, self.settings.delivery_batch_size)
        count = len(claimed)
        claimed = await self._with_consent(claimed)
        # Sent in waves as wide as the send concurrency, each wave's successes recorded in one
        # write: a crash leaves at most one wave sent but unrecorded (re-sent after the lease).
        wave = self.settings.delivery_concurrency
        for start in range(0, len(claimed), wave):
            results = await asyncio.gather(
                *(self._attempt(delivery) for delivery in claimed[start : start + wave]),
                return_exceptions=True,
            )
            sent = [result for result in results if isinstance(result, tuple)]
            failures = [result for result in results if isinstance(result, BaseException)]
            try:
                await self._sent(sent)
            except Exception as exc:
                failures.append(exc)
            for failure in failures:
                # Recording the outcome failed (database away): the lease runs out and the
                # delivery is tried again - at least once, never lost.
                log.warning("notifications.record_failed", error=safe_error(failure))
        return count

    async def _with_consent(self, claimed: list[DeliveryRecord]) -> list[DeliveryRecord]:
        """Asked again just before sending (issue 16): a delivery to the person, or about them
        to another organisation, whose case's consent was withdrawn or has expired since it
        was queued is suppressed with the reason and never sent (nor retried)."""
        concerned = [d for d in claimed if _about_the_person(d)]
        if not concerned:
            return claimed
        consents = await self.store.consents_of(d.case_id for d in concerned)
        now = self.clock.now()
        stopped: dict[str, str] = {}
        for delivery in concerned:
            reason = consent_refusal(
                consents.get(delivery.case_id),
                recipient_role=delivery.recipient_role,
                recipient_org=delivery.recipient_org,
                case_org=delivery.organisation,
                receipt=delivery.trigger_event_type in RECEIPT_ONLY,
                at=now,
            )
            if reason is not None:
                stopped[delivery.delivery_id] = reason
        if not stopped:
            return claimed
        uow = self.store.unit()
        for delivery in claimed:
            if delivery.delivery_id in stopped:
                self.store.record_withheld(uow, delivery, now, stopped[delivery.delivery_id])
        async with self._writes:
            await uow.commit()
        for delivery_id, reason in stopped.items():
            log.info("notifications.withheld", delivery_id=delivery_id, reason=reason)
        return [d for d in claimed if d.delivery_id not in stopped]

    async def _attempt(self, delivery: DeliveryRecord) -> tuple[DeliveryRecord, str] | None:
        """Send one delivery; a failure is recorded here, a success returned to be recorded
        with the rest of the batch."""
        async with self._semaphore:
            try:
                message = await self.message_for(delivery)
                sender = self.senders.get(delivery.channel or "")
                if sender is None:
                    raise DeliveryFailed(f"channel: {delivery.channel!r} not configured", True)
                reference = await sender.send(message)
            except DeliveryFailed as exc:
                await self._failed(delivery, exc.reason, exc.permanent)
            except Exception as exc:  # an unexpected error is recorded and retried, never lost
                await self._failed(delivery, f"{type(exc).__name__}: {exc}", False)
            else:
                return delivery, reference
            return None

    async def message_for(self, delivery: DeliveryRecord) -> OutboundMessage:
        pdf = None
        if delivery.letter:
            pdf = await self.store.letter(delivery.delivery_id)
            if pdf is None:
                settings = await self.store.org_settings(delivery.organisation)
                pdf = render_letter_pdf(
                    settings.display_name or delivery.organisation,
                    delivery.letter_address or [],
                    delivery.subject or "",
                    delivery.body or "",
                    self.clock.now().date(),
                )
                await self.store.save_letter(
                    LetterRecord(
                        delivery_id=delivery.delivery_id,
                        organisation=delivery.organisation,
                        pdf=pdf,
                        at=self.clock.now(),
                    )
                )
        return OutboundMessage(
            delivery_id=delivery.delivery_id,
            channel=delivery.channel or "",
            address=delivery.address or "",
            subject=delivery.subject or "",
            body=delivery.body or "",
            template=delivery.template,
            provider_template_id=delivery.provider_template_id or delivery.template,
            personalisation=delivery.personalisation or {},
            pdf=pdf,
            metadata={
                "case_id": delivery.case_id,
                "organisation": delivery.organisation,
                "event_type": delivery.trigger_event_type,
                "event_id": delivery.trigger_event_id,
                "recipient_role": delivery.recipient_role,
                "urgent": delivery.urgent,
            },
        )

    def _event(
        self,
        delivery: DeliveryRecord,
        model: type[NotificationSent],
        discriminator: str,
        **extra: object,
    ) -> Envelope:
        data = model(
            notification_id=delivery.delivery_id,
            case_id=delivery.case_id,
            trigger_event_id=delivery.trigger_event_id,
            recipient_role=delivery.recipient_role,
            channel=delivery.channel or "",
            template=delivery.template,
            **extra,
        )
        return make_event(
            data,
            source=SOURCE,
            organisation=delivery.organisation,
            correlation_id=delivery.correlation_id,
            causation_id=delivery.trigger_event_id,
            # Derived ids: a crash and retry re-emits the same event, not a second one, and
            # the delivery's inbox refuses to record the same outcome twice.
            event_id=stable_id(delivery.delivery_id, model.TYPE, discriminator),
            time=self.clock.now(),
        )

    async def _sent(self, sent: list[tuple[DeliveryRecord, str]]) -> None:
        """Every delivery of one wave that was sent: one bulk write, one publish, one clear."""
        if not sent:
            return
        now = self.clock.now()
        uow = self.store.unit()
        for delivery, reference in sent:
            event = self._event(delivery, NotificationSent, "sent")
            self.store.record_sent(uow, delivery, reference, event, now)
        async with self._writes:
            await uow.commit()
        for delivery, _ in sent:
            log.info(
                "notifications.sent", delivery_id=delivery.delivery_id, channel=delivery.channel
            )

    async def _failed(self, delivery: DeliveryRecord, reason: str, permanent: bool) -> None:
        now = self.clock.now()
        decision = after_failure(self.policy, delivery.cycle_attempts + 1, permanent, now)
        uow = self.store.unit()
        if decision.park:
            event = self._event(
                delivery,
                NotificationFailed,
                f"parked-{delivery.resends or 0}",
                reason=reason,
                parked=True,
            )
            self.store.record_parked(uow, delivery, now, reason, event)
        else:
            self.store.record_retry(uow, delivery, now, reason, decision.retry_at or now)
        async with self._writes:
            await uow.commit()
        if decision.park:
            log.warning("notifications.parked", delivery_id=delivery.delivery_id, reason=reason)
        else:
            log.info("notifications.retry", delivery_id=delivery.delivery_id, reason=reason)


def _about_the_person(delivery: DeliveryRecord) -> bool:
    """To the person, or to another organisation: what the case's consent governs."""
    return delivery.recipient_role == CLIENT_ROLE or delivery.recipient_org not in (
        None,
        delivery.organisation,
    )
