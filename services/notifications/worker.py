"""The delivery worker: claims due deliveries, sends them through their channel, records each
attempt, retries with backoff, parks what keeps failing. Runs beside the consumer, so a slow
SMTP server never holds up the event stream."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from services.notifications.channels import ChannelSender, DeliveryFailed, OutboundMessage
from services.notifications.letters import render_letter_pdf
from services.notifications.retry import RetryPolicy, after_failure
from services.notifications.settings import NotificationSettings
from services.notifications.store import NotificationStore
from shared.clock import Clock
from shared.events.catalogue import NotificationFailed, NotificationSent
from shared.events.envelope import Envelope, make_event
from shared.ids import stable_id
from shared.logging import get_logger
from shared.mongo import Document
from shared.outbox import OutboxRelay

SOURCE = "hearth/notifications"
log = get_logger(__name__)


class DeliveryWorker:
    def __init__(
        self,
        store: NotificationStore,
        senders: dict[str, ChannelSender],
        clock: Clock,
        relay: OutboxRelay,
        settings: NotificationSettings,
    ) -> None:
        self.store = store
        self.senders = senders
        self.clock = clock
        self.relay = relay
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
                log.warning("notifications.worker_failed", error=repr(exc))
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
        # Sent in waves as wide as the send concurrency, each wave's successes recorded in one
        # write: a crash leaves at most one wave sent but unrecorded (re-sent after the lease).
        wave = self.settings.delivery_concurrency
        for start in range(0, len(claimed), wave):
            results = await asyncio.gather(
                *(self._attempt(doc) for doc in claimed[start : start + wave]),
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
                log.warning("notifications.record_failed", error=repr(failure))
        return len(claimed)

    async def _attempt(self, doc: Document) -> tuple[Document, str] | None:
        """Send one delivery; a failure is recorded here, a success returned to be recorded
        with the rest of the batch."""
        async with self._semaphore:
            try:
                message = await self.message_for(doc)
                sender = self.senders.get(doc["channel"])
                if sender is None:
                    raise DeliveryFailed(f"channel: {doc['channel']!r} not configured", True)
                reference = await sender.send(message)
            except DeliveryFailed as exc:
                await self._failed(doc, exc.reason, exc.permanent)
            except Exception as exc:  # an unexpected error is recorded and retried, never lost
                await self._failed(doc, f"{type(exc).__name__}: {exc}", False)
            else:
                return doc, reference
            return None

    async def message_for(self, doc: Document) -> OutboundMessage:
        pdf = None
        if doc.get("letter"):
            pdf = await self.store.letter(doc["_id"])
            if pdf is None:
                settings = await self.store.org_settings(doc["organisation"])
                pdf = render_letter_pdf(
                    settings.display_name or doc["organisation"],
                    doc.get("letter_address") or [],
                    doc.get("subject", ""),
                    doc.get("body", ""),
                    self.clock.now().date(),
                )
                await self.store.save_letter(doc["_id"], doc["organisation"], pdf, self.clock.now())
        return OutboundMessage(
            delivery_id=doc["_id"],
            channel=doc["channel"],
            address=doc["address"],
            subject=doc.get("subject", ""),
            body=doc.get("body", ""),
            template=doc["template"],
            provider_template_id=doc.get("provider_template_id", doc["template"]),
            personalisation=doc.get("personalisation") or {},
            pdf=pdf,
            metadata={
                "case_id": doc["case_id"],
                "organisation": doc["organisation"],
                "event_type": doc["trigger_event_type"],
                "event_id": doc["trigger_event_id"],
                "recipient_role": doc["recipient_role"],
                "urgent": doc.get("urgent", False),
            },
        )

    def _event(
        self, doc: Document, model: type[NotificationSent], discriminator: str, **extra: object
    ) -> Envelope:
        data = model(
            notification_id=doc["_id"],
            case_id=doc["case_id"],
            trigger_event_id=doc["trigger_event_id"],
            recipient_role=doc["recipient_role"],
            channel=doc["channel"],
            template=doc["template"],
            **extra,
        )
        return make_event(
            data,
            source=SOURCE,
            organisation=doc["organisation"],
            correlation_id=doc.get("correlation_id"),
            causation_id=doc["trigger_event_id"],
            # Derived ids: a crash and retry re-emits the same event, not a second one.
            event_id=stable_id(doc["_id"], model.TYPE, discriminator),
            time=self.clock.now(),
        )

    async def _sent(self, sent: list[tuple[Document, str]]) -> None:
        """Every delivery of one claim that was sent: one write, one publish, one clear."""
        if not sent:
            return
        events = [(doc, ref, self._event(doc, NotificationSent, "sent")) for doc, ref in sent]
        async with self._writes:
            queued = await self.store.mark_sent_many(events, self.clock.now())
            await self.relay.flush_batch(self.store.deliveries, queued)
        for doc, _ in sent:
            log.info("notifications.sent", delivery_id=doc["_id"], channel=doc["channel"])

    async def _failed(self, doc: Document, reason: str, permanent: bool) -> None:
        now = self.clock.now()
        decision = after_failure(self.policy, doc.get("cycle_attempts", 0) + 1, permanent, now)
        if decision.park:
            event = self._event(
                doc,
                NotificationFailed,
                f"parked-{doc.get('resends', 0)}",
                reason=reason,
                parked=True,
            )
            async with self._writes:
                updated = await self.store.mark_parked(doc, now, reason, [event])
                await self.relay.flush(self.store.deliveries, updated)
            log.warning("notifications.parked", delivery_id=doc["_id"], reason=reason)
        else:
            async with self._writes:
                await self.store.mark_retry(doc, now, reason, decision.retry_at or now)
            log.info("notifications.retry", delivery_id=doc["_id"], reason=reason)
