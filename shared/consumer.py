"""Consuming events: one consumer group per service and lane, offsets committed only after
handling.

Lanes (`shared.lanes`): on the topics a landlord's feed fills in bulk (`shared.topics.LANED`)
a second consumer group, `<group>.bulk`, handles the records marked `ce_lane: bulk`, and the
service's own group handles every other record, each skipping the other's. Two poll loops, the
same handlers: a person's event is never queued behind a batch being handled, and each lane
keeps a key's events in offset order. Events a handler makes travel the lane of the event it
handles. Which of a consumer's groups a process runs is its workload's (`lanes_in`): a service
split in two runs its interactive groups in one process and its bulk groups, with the feed's
consumers (`bulk_source`), in another, so a batch holds neither a person's poll nor their CPU.

Failure policy, in one place:
- a record that cannot be decoded, or whose data fails validation -> dead-letter topic at once;
- a handler error -> retried with backoff a bounded number of times, then dead-lettered;
- the database or broker unreachable or answering with a transient error
  (`shared.transient.is_transient`) -> nothing is dead-lettered: the batch is not committed,
  its keys still running are cancelled, the consumer seeks back and handles the batch again
  after a pause, so an outage loses nothing and a key's events never run beside their re-read;
- the offset commit fails -> logged, and the batch is read and handled again (consumers are
  idempotent), rather than moving on uncommitted.
The stream always moves on past a poison message. Metrics are labelled only with event types
of the catalogue, so a writer cannot mint label values.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator
from itertools import chain, groupby
from typing import Any

from aiokafka import TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import AckStatus

from shared.broker_access import INGRESS_TOPICS, ingress_owner, ingress_topic
from shared.dlq import send_to_dead_letter
from shared.events.base import EventData, event_type_name, model_for_type
from shared.events.envelope import Envelope, EnvelopeError, from_kafka
from shared.lanes import Lane, Workload, working_in
from shared.logging import get_logger, log_context
from shared.metrics import (
    COMMIT_FAILURES,
    CONSUMER_LAG,
    DEAD_LETTERS,
    HANDLER_FAILURES,
    HANDLER_SECONDS,
    MESSAGES_HANDLED,
)
from shared.quarantine import Quarantine
from shared.redaction import safe_error, safe_reason
from shared.settings import HearthSettings
from shared.topic_purge import purge_consumed
from shared.topics import LANED, Topic, dlq_topic_name, topic_name
from shared.transient import is_transient

Handler = Callable[[Envelope, Any], Awaitable[None]]
# A batch handler gets every decoded event of its types from one poll, in offset order per key.
BatchHandler = Callable[[list[tuple[Envelope, Any]]], Awaitable[None]]

POLL_TIMEOUT_MS = 500  # an idle poll's wait; data arriving ends it at once
BULK_GROUP_SUFFIX = ".bulk"  # still within the service's own group names (broker_access)

log = get_logger(__name__)


class PermanentError(Exception):
    """Input that can never be handled (bad field, broken rule); dead-lettered at once."""


class InfrastructureUnavailable(Exception):
    """Raised out of a batch so it is not committed; the consumer retries it later."""


class CommitFailed(Exception):
    """The batch was handled but its offsets not committed: it is read and handled again."""


def metric_type(envelope: Envelope) -> str:
    """The event type as a metric label: only types of the catalogue, never the writer's."""
    return envelope.short_type if model_for_type(envelope.type) is not None else "unknown"


async def _no_decode(_: Any) -> None:
    # Records are decoded by from_kafka; FastStream's JSON decoder would fail on poison input
    # before our handler could dead-letter it.
    return None


class EventConsumer:
    """Routes CloudEvents types to handlers for one consumer group of one service."""

    def __init__(
        self,
        settings: HearthSettings,
        broker: KafkaBroker,
        topics: Iterable[Topic | str],
        group: str | None = None,
        quarantine: Quarantine | None = None,
        bulk_source: bool = False,
    ) -> None:
        self.settings = settings
        # A landlord's feed: everything it reads causes bulk work, so every group of it runs
        # where the bulk lanes run (`lanes_in`), never beside a person's requests.
        self.bulk_source = bulk_source
        self.broker = broker
        # Where a dead-lettered record is kept (sealed); the dead-letter topic gets a reference.
        self.quarantine = quarantine
        self.service = settings.service_name
        self.group_id = f"{settings.topic_prefix}{group or settings.service_name}"
        self.topics = [topic_name(t, settings.topic_prefix) for t in topics]
        # Partners' own ingress topics beside the platform's (shared/broker_access.py).
        self.topics += [
            ingress_topic(Topic(t), organisation, settings.topic_prefix)
            for t in topics
            if t in INGRESS_TOPICS
            for organisation in settings.partner_organisations
        ]
        # Laned platform topics (never a partner's ingress): their bulk lane has its own group.
        self.laned_topics = frozenset(
            topic_name(t, settings.topic_prefix) for t in topics if t in LANED
        )
        self.lanes = (Lane.INTERACTIVE, Lane.BULK) if self.laned_topics else (Lane.INTERACTIVE,)
        self.lane_groups = {Lane.INTERACTIVE: self.group_id}
        if Lane.BULK in self.lanes:
            self.lane_groups[Lane.BULK] = f"{self.group_id}{BULK_GROUP_SUFFIX}"
        # One dead-letter topic for both lanes: an operator sees the service's stream.
        self.dlq_topic = dlq_topic_name(group or settings.service_name, settings.topic_prefix)
        self.handlers: dict[str, tuple[type[EventData], Handler]] = {}
        self.batch_handlers: dict[str, tuple[type[EventData], BatchHandler]] = {}
        self.concurrency = 16
        self._subscriber: Any = None  # the interactive lane's
        self._subscribers: dict[Lane, Any] = {}
        self._owners: dict[str, str | None] = {}  # topic -> the partner whose ingress it is

    @property
    def group_ids(self) -> list[str]:
        """Every consumer group of this consumer, one per lane: what must have committed past a
        record before it may be deleted from its topic (`shared.topic_purge`)."""
        return list(self.lane_groups.values())

    async def purge_consumed(self, topics: Iterable[str]) -> dict[str, int]:
        """Delete what every lane's group of this consumer has committed past on `topics`
        (personal data once consumed, `shared.topic_purge`); never what one lane has not read."""
        return await purge_consumed(self.settings, topics, self.group_ids)

    def lanes_in(self, workload: Workload) -> tuple[Lane, ...]:
        """The lanes whose groups a process of `workload` runs: `all` every one; a split
        service's interactive process the interactive groups (of every consumer but a feed's)
        and its bulk process the bulk groups and a feed's every group. So each group is run by
        exactly one kind of process, and nothing a group was given is left unread."""
        if workload is Workload.ALL:
            return self.lanes
        if self.bulk_source:
            return self.lanes if workload is Workload.BULK else ()
        wanted = Lane.BULK if workload is Workload.BULK else Lane.INTERACTIVE
        return tuple(lane for lane in self.lanes if lane is wanted)

    @property
    def running_groups(self) -> list[str]:
        """The groups this process runs (its workload's), for its start-up log."""
        return [self.lane_groups[lane] for lane in self.lanes_in(self.settings.workload)]

    def on(self, *models: type[EventData]) -> Callable[[Handler], Handler]:
        """Register `handler(envelope, data)` for these event types."""

        def register(handler: Handler) -> Handler:
            for model in models:
                self.handlers[event_type_name(model)] = (model, handler)
            return handler

        return register

    def on_batch(self, *models: type[EventData]) -> Callable[[BatchHandler], BatchHandler]:
        """Register `handler([(envelope, data), ...])` for high-volume types (arrears alerts):
        one call per poll, so the handler can read and write in bulk. If it raises, the batch
        is handled again one event at a time, so a poison event is dead-lettered alone."""

        def register(handler: BatchHandler) -> BatchHandler:
            for model in models:
                self.batch_handlers[event_type_name(model)] = (model, handler)
            return handler

        return register

    def handled_types(self) -> dict[str, type[EventData]]:
        """Every event type this consumer handles, one at a time or in batches."""
        entries = {**self.handlers, **self.batch_handlers}
        return {type_name: model for type_name, (model, _) in sorted(entries.items())}

    def attach(self) -> None:
        """Subscribe on the broker, one poll loop per lane this process's workload runs
        (`lanes_in`); call before the broker starts."""
        handlers = {Lane.INTERACTIVE: self._on_interactive_batch, Lane.BULK: self._on_bulk_batch}
        for lane in self.lanes_in(self.settings.workload):
            subscriber = self.broker.subscriber(
                *self.topics,
                group_id=self.lane_groups[lane],
                batch=True,
                max_records=self.settings.consumer_batch_size,
                batch_timeout_ms=100,
                auto_offset_reset="earliest",
                ack_policy=AckPolicy.NACK_ON_ERROR,
                decoder=_no_decode,
            )
            subscriber(handlers[lane])
            # FastStream's batch poll sleeps a whole batch_timeout after every empty poll,
            # which added up to 100 ms per hop to an idle platform; aiokafka's getmany already
            # waits for data and returns the moment some arrives.
            subscriber.get_msg = self._poll
            self._subscribers[lane] = subscriber
        self._subscriber = self._subscribers.get(Lane.INTERACTIVE)

    def lane_of(self, record: Any) -> Lane:
        """The lane whose group handles `record`: bulk only on a laned platform topic whose
        record says so; anything else (a partner's ingress, an unreadable lane, which decode
        then refuses) the interactive group's, so each record is handled exactly once."""
        if record.topic not in self.laned_topics:
            return Lane.INTERACTIVE
        headers = record.headers or ()
        for name, value in headers.items() if isinstance(headers, dict) else headers:
            if name == "ce_lane":
                return Lane.BULK if value in (b"bulk", Lane.BULK) else Lane.INTERACTIVE
        return Lane.INTERACTIVE

    def _owner(self, topic: str) -> str | None:
        """The partner whose ingress topic this is, if any; known once per topic, not found
        again for every record."""
        if topic not in self._owners:
            self._owners[topic] = ingress_owner(topic, self.settings.topic_prefix)
        return self._owners[topic]

    def decode(self, record: Any) -> Envelope:
        """The record's envelope, refused unless its type travels on the topic it came by; on
        a partner's ingress topic the organisation is the topic's owner, whatever the header
        says (the broker let only that partner's principal write there)."""
        envelope = from_kafka(record.key, record.value, record.headers)
        prefix = self.settings.topic_prefix
        owner = self._owner(record.topic)
        arrived_on = record.topic[len(prefix) :] if record.topic.startswith(prefix) else ""
        if owner is not None:
            arrived_on = arrived_on[: -len(owner) - 1]
        model = model_for_type(envelope.type)
        if model is not None and arrived_on != model.TOPIC:
            raise EnvelopeError(f"type: {envelope.short_type} does not travel on this topic")
        if owner is not None:
            # A partner decides neither who raised it nor its lane: what arrives by an ingress
            # is interactive; the platform marks what it derives from a feed as bulk.
            changes: dict[str, Any] = {}
            if envelope.organisation != owner:
                changes["organisation"] = owner
            if envelope.lane is not Lane.INTERACTIVE:
                changes["lane"] = Lane.INTERACTIVE
            if changes:
                envelope = envelope.model_copy(update=changes)
        return envelope

    async def _poll(self, consumer: Any) -> tuple[Any, ...]:
        batches = await consumer.getmany(
            timeout_ms=POLL_TIMEOUT_MS, max_records=self.settings.consumer_batch_size
        )
        return tuple(chain.from_iterable(batches.values()))

    async def _on_interactive_batch(self, message: KafkaMessage) -> None:
        await self._on_batch(message, Lane.INTERACTIVE)

    async def _on_bulk_batch(self, message: KafkaMessage) -> None:
        await self._on_batch(message, Lane.BULK)

    async def _on_batch(self, message: Any, lane: Lane) -> None:
        records = message.raw_message
        if not isinstance(records, tuple):
            records = (records,)
        # The other lane's records are its group's: skipped here, committed past all the same.
        await self.handle_records(r for r in records if self.lane_of(r) is lane)
        await self._commit(message, records, lane)
        self._record_lag(message, records, lane)

    async def _commit(
        self, message: Any, records: tuple[Any, ...], lane: Lane = Lane.INTERACTIVE
    ) -> None:
        """Commit here rather than in FastStream's acknowledgement, which logs a failed commit
        and moves on; raising makes it seek back so the batch is handled again."""
        consumer = getattr(message, "consumer", None)
        if consumer is None or not records:
            return
        try:
            await consumer.commit()
        except Exception as exc:
            COMMIT_FAILURES.labels(self.service, self.lane_groups[lane]).inc()
            log.warning("consumer.commit_failed", error=safe_error(exc), records=len(records))
            raise CommitFailed(safe_error(exc)) from exc
        message.committed = AckStatus.ACKED  # done: FastStream must not commit it again

    def _record_lag(
        self, message: Any, records: tuple[Any, ...], lane: Lane = Lane.INTERACTIVE
    ) -> None:
        consumer = getattr(message, "consumer", None)
        if consumer is None or not records:
            return
        last_offsets: dict[tuple[str, int], int] = {}
        for record in records:
            last_offsets[(record.topic, record.partition)] = record.offset
        lag_by_topic: dict[str, int] = defaultdict(int)
        for (topic, partition), offset in last_offsets.items():
            highwater = consumer.highwater(TopicPartition(topic, partition))
            if highwater is not None:
                lag_by_topic[topic] += max(0, highwater - offset - 1)
        for topic, lag in lag_by_topic.items():
            CONSUMER_LAG.labels(self.service, self.lane_groups[lane], topic).set(lag)

    async def handle_records(self, records: Iterable[Any]) -> None:
        pending: list[tuple[Any, Envelope | None]] = [(record, None) for record in records]
        if self.batch_handlers:
            pending = await self._handle_batched([record for record, _ in pending])
        # One sequence per partition key keeps each case's events in order; keys run side by
        # side.
        by_key: dict[bytes | None, list[tuple[Any, Envelope | None]]] = defaultdict(list)
        for record, envelope in pending:
            by_key[record.key].append((record, envelope))
        semaphore = asyncio.Semaphore(self.concurrency)

        async def run_key(sequence: list[tuple[Any, Envelope | None]]) -> None:
            async with semaphore:
                for record, envelope in sequence:
                    await self.handle_record(record, envelope)

        # A task group cancels the other keys when one gives up on the infrastructure, so
        # none of them is still handling events when the batch is read again.
        try:
            async with asyncio.TaskGroup() as keys_running:
                for sequence in by_key.values():
                    keys_running.create_task(run_key(sequence))
        except* InfrastructureUnavailable as group:
            raise group.exceptions[0] from None

    async def _handle_batched(self, records: list[Any]) -> list[tuple[Any, Envelope | None]]:
        """Hand batch-handled types to their batch handlers; return the other records with
        their envelope already decoded (None: undecodable, dead-lettered by the per-event path).

        Batched types must not share a partition key with per-event types on the same
        consumer, since the two paths do not interleave."""
        rest: list[tuple[Any, Envelope | None]] = []
        # Per handler, not per type: a handler of several types sees them mixed, in order.
        # And per lane (one poll has one, but a caller may mix them): each call makes events
        # in the lane of the events it handles.
        groups: dict[tuple[int, Lane], tuple[BatchHandler, list[tuple[Any, Envelope]]]] = {}
        for record in records:
            try:
                envelope = self.decode(record)
            except EnvelopeError:
                rest.append((record, None))
                continue
            if envelope.type in self.batch_handlers:
                _model, handler = self.batch_handlers[envelope.type]
                group = groups.setdefault((id(handler), envelope.lane), (handler, []))
                group[1].append((record, envelope))
            else:
                rest.append((record, envelope))
        for (_, lane), (handler, items) in groups.items():
            with working_in(lane):
                await self._run_batch(handler, items)
        return rest

    async def _run_batch(self, handler: BatchHandler, items: list[tuple[Any, Envelope]]) -> None:
        decoded: list[tuple[Envelope, Any]] = []
        for record, envelope in items:
            try:
                decoded.append((envelope, envelope.payload()))
            except EnvelopeError as exc:
                await self._dead_letter(record, exc, 0, envelope.short_type)
        if not decoded:
            return
        short_type = decoded[0][0].short_type
        started = time.perf_counter()
        try:
            await handler(decoded)
        except Exception as exc:
            if is_transient(exc):
                HANDLER_FAILURES.labels(self.service, self.group_id, short_type).inc()
                log.warning("consumer.infrastructure_unavailable", error=safe_error(exc))
                await asyncio.sleep(self.settings.retry_backoff_seconds)
                raise InfrastructureUnavailable(safe_error(exc)) from exc
            # Isolate the failure: each event alone, with the usual retries and dead letters.
            log.warning("consumer.batch_failed", error=safe_error(exc), size=len(decoded))
            by_id = {envelope.id: record for record, envelope in items}
            for envelope, data in decoded:
                with log_context(
                    event_id=envelope.id,
                    event_type=envelope.short_type,
                    case_id=envelope.subject,
                    organisation=envelope.organisation,
                    correlation_id=envelope.correlationid,
                ):
                    await self._run_with_retries(
                        by_id[envelope.id], envelope, data, _single(handler)
                    )
            return
        # Observed once per event (its share of the batch), so counts and sums stay per event.
        share = (time.perf_counter() - started) / len(decoded)
        for envelope, _data in decoded:
            labels = (self.service, self.group_id, envelope.short_type)
            HANDLER_SECONDS.labels(*labels).observe(share)
            MESSAGES_HANDLED.labels(*labels, "ok").inc()

    async def handle_record(self, record: Any, envelope: Envelope | None = None) -> str:
        if envelope is None:
            try:
                envelope = self.decode(record)
            except EnvelopeError as exc:
                await self._dead_letter(record, exc, attempts=0, event_type="undecodable")
                return "dead_lettered"
        entry = self.handlers.get(envelope.type)
        if entry is None and envelope.type in self.batch_handlers:
            model, batch_handler = self.batch_handlers[envelope.type]
            entry = (model, _single(batch_handler))
        if entry is None:
            MESSAGES_HANDLED.labels(
                self.service, self.group_id, metric_type(envelope), "ignored"
            ).inc()
            return "ignored"
        _model, handler = entry
        with log_context(
            event_id=envelope.id,
            event_type=envelope.short_type,
            case_id=envelope.subject,
            organisation=envelope.organisation,
            correlation_id=envelope.correlationid,
            causation_id=envelope.causationid,
        ):
            try:
                data = envelope.payload()
            except EnvelopeError as exc:
                await self._dead_letter(record, exc, 0, envelope.short_type)
                return "dead_lettered"
            with working_in(envelope.lane):  # what it makes travels the lane of its cause
                return await self._run_with_retries(record, envelope, data, handler)

    async def _run_with_retries(
        self, record: Any, envelope: Envelope, data: EventData, handler: Handler
    ) -> str:
        attempts = 0
        backoff = self.settings.retry_backoff_seconds
        while True:
            attempts += 1
            started = time.perf_counter()
            try:
                await handler(envelope, data)
            except PermanentError as exc:
                await self._dead_letter(record, exc, attempts, envelope.short_type)
                return "dead_lettered"
            except Exception as exc:
                if is_transient(exc):
                    HANDLER_FAILURES.labels(self.service, self.group_id, envelope.short_type).inc()
                    log.warning("consumer.infrastructure_unavailable", error=safe_error(exc))
                    await asyncio.sleep(min(backoff * attempts, 5.0))
                    raise InfrastructureUnavailable(safe_error(exc)) from exc
                HANDLER_FAILURES.labels(self.service, self.group_id, envelope.short_type).inc()
                if attempts >= self.settings.handler_retries:
                    await self._dead_letter(record, exc, attempts, envelope.short_type)
                    return "dead_lettered"
                log.warning("consumer.retry", attempt=attempts, error=safe_error(exc))
                await asyncio.sleep(backoff * 2 ** (attempts - 1))
                continue
            HANDLER_SECONDS.labels(self.service, self.group_id, envelope.short_type).observe(
                time.perf_counter() - started
            )
            MESSAGES_HANDLED.labels(self.service, self.group_id, envelope.short_type, "ok").inc()
            return "handled"

    async def _dead_letter(
        self, record: Any, error: BaseException, attempts: int, event_type: str
    ) -> None:
        if self.quarantine is None:
            raise RuntimeError("quarantine: none given (build consumers with runtime.consumer)")
        # Read as an event even if it came by the wrong topic, so erasure finds its subjects.
        try:
            envelope: Envelope | None = from_kafka(record.key, record.value, record.headers)
        except EnvelopeError:
            envelope = None  # undecodable: quarantined without subject ids
        owner = ingress_owner(record.topic, self.settings.topic_prefix)
        if envelope is not None and owner is not None:
            envelope = envelope.model_copy(update={"organisation": owner})
        try:
            held = await send_to_dead_letter(
                self.broker,
                self.dlq_topic,
                record,
                self.group_id,
                error,
                attempts,
                self.quarantine,
                envelope,
            )
        except Exception as exc:
            if not is_transient(exc):
                raise
            # The quarantine's database or the broker is down: nothing is committed, the
            # batch is handled again after the outage, so the record is never lost.
            log.warning("consumer.infrastructure_unavailable", error=safe_error(exc))
            await asyncio.sleep(self.settings.retry_backoff_seconds)
            raise InfrastructureUnavailable(safe_error(exc)) from exc
        log.error(
            "consumer.dead_lettered",
            reason=safe_reason(error),
            error_type=type(error).__name__,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            dlq=self.dlq_topic,
            quarantine_id=held.id,
        )
        DEAD_LETTERS.labels(self.service, self.group_id).inc()
        MESSAGES_HANDLED.labels(self.service, self.group_id, event_type, "dead_lettered").inc()


def stretches(
    batch: list[tuple[Envelope, Any]], kind: Callable[[Any], Hashable]
) -> Iterator[tuple[Hashable, list[tuple[Envelope, Any]]]]:
    """A batch cut into consecutive stretches of one `kind` of event, in its order. A handler
    writes a stretch of a busy kind in bulk and handles the rest one by one, so every case's
    events still apply in the order they came."""
    for label, stretch in groupby(batch, key=lambda item: kind(item[1])):
        yield label, list(stretch)


def _single(batch_handler: BatchHandler) -> Handler:
    async def handle(envelope: Envelope, data: Any) -> None:
        await batch_handler([(envelope, data)])

    return handle
