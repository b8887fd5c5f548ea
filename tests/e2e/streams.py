"""What the end-to-end tests put on Kafka and read back: events only, never a service's tables."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer

from shared.codes import LegalStage
from shared.events.envelope import Envelope, make_event
from shared.events.referral_events import ArrearsAlertSubmitted
from shared.kafka import EventPublisher, ensure_topics, make_broker, settings_security
from shared.settings import HearthSettings
from shared.topics import Topic, topic_name


def alert(
    landlord: str, reference: str, legal_stage: LegalStage = LegalStage.NOTICE_SERVED
) -> Envelope:
    """An arrears alert that every default rule set reads as a tenancy at risk."""
    return make_event(
        ArrearsAlertSubmitted(
            tenancy_reference=reference,
            arrears_balance=1450.0,
            weekly_rent=110.0,
            weeks_in_arrears=13,
            trend="worsening",
            last_payment_date=date(2026, 9, 1),
            legal_stage=legal_stage,
            notice_served_date=date(2026, 11, 1),
            eviction_date=date.today() + timedelta(days=40)
            if legal_stage == LegalStage.EVICTION_DATE_SET
            else None,
        ),
        source=f"urn:hearth:partner:{landlord}",
        organisation=landlord,
    )


async def publish(settings: HearthSettings, envelopes: Iterable[Envelope]) -> None:
    await ensure_topics(settings)
    broker = make_broker(settings)
    await broker.connect()
    try:
        await EventPublisher(broker, settings).publish_many(envelopes)
    finally:
        await broker.stop()


class EventLog:
    """Every CloudEvent on some topics, read from the beginning, decoded to (headers, data)."""

    def __init__(self, settings: HearthSettings, *topics: Topic, since: float = 0.0) -> None:
        """`since` (epoch seconds): skip, undecoded, what was written before (a module that
        shares its topics across tests need not decode every earlier test's events)."""
        self.since_ms = since * 1000
        self.consumer = AIOKafkaConsumer(
            *(topic_name(t, settings.topic_prefix) for t in topics),
            bootstrap_servers=settings.kafka,
            **settings_security(settings),
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            max_poll_records=5000,
        )
        self.events: list[tuple[dict[str, str], dict[str, Any]]] = []
        # Broker timestamps (ms, the producer's clock), one per event: when each was written.
        self.timestamps: list[int] = []
        self._by_type: dict[str, list[int]] = defaultdict(list)  # ce_type -> indexes in events

    async def __aenter__(self) -> EventLog:
        await self.consumer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.consumer.stop()

    async def poll(self) -> None:
        batch = await self.consumer.getmany(timeout_ms=200)
        for records in batch.values():
            for record in records:
                if record.timestamp < self.since_ms:
                    continue
                headers = {k: v.decode() for k, v in record.headers}
                self._by_type[headers.get("ce_type", "")].append(len(self.events))
                self.events.append((headers, json.loads(record.value or b"{}")))
                self.timestamps.append(record.timestamp)

    def of_type(self, short_type: str) -> list[tuple[dict[str, str], dict[str, Any]]]:
        return [self.events[i] for i in self._by_type.get(f"hearth.{short_type}.v1", [])]

    def distinct(self, short_type: str, field: str = "") -> set[str]:
        """Distinct event ids (or values of a data field) of one type."""
        return {(d.get(field) if field else h["ce_id"]) for h, d in self.of_type(short_type)}

    def first_written(self, short_type: str) -> dict[str, tuple[int, dict[str, Any]]]:
        """Each distinct event id of one type -> (when it was first written, its data): a
        re-published event keeps its id, so this is when the effect first existed."""
        first: dict[str, tuple[int, dict[str, Any]]] = {}
        for i in self._by_type.get(f"hearth.{short_type}.v1", []):
            (headers, data), stamp = self.events[i], self.timestamps[i]
            known = first.get(headers["ce_id"])
            if known is None or stamp < known[0]:
                first[headers["ce_id"]] = (stamp, data)
        return first

    def copies(self, short_type: str) -> int:
        """Records of one type beyond one per event id (re-published after a crash: harmless
        to consumers, which keep event ids, but worth seeing)."""
        return len(self.of_type(short_type)) - len(self.distinct(short_type))

    def grouped(self, short_type: str, key: str, value: str) -> dict[str, set[str]]:
        groups: dict[str, set[str]] = defaultdict(set)
        for _, data in self.of_type(short_type):
            groups[str(data.get(key))].add(str(data.get(value)))
        return groups

    async def wait_for(
        self,
        condition: Callable[[EventLog], bool],
        timeout: float = 120.0,
        what: str = "",
        every: float = 0.0,
    ) -> None:
        """Poll until `condition` holds; with `every`, test it at most that often (a costly
        condition over a long log would otherwise take the CPU the services need)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition(self):
            if loop.time() > deadline:
                types = {t: len(indexes) for t, indexes in self._by_type.items()}
                raise AssertionError(f"timed out waiting for {what}; seen {types}")
            tested = loop.time()
            await self.poll()
            while loop.time() < tested + every:
                await self.poll()

    async def settle(self, seconds: float = 2.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            await self.poll()


async def publish_paced(
    settings: HearthSettings,
    envelopes: list[Envelope],
    chunk: int = 20,
    pause: float = 0.1,
    patience: float = 120.0,
) -> None:
    """Publish like a partner sending steadily, `chunk` events every `pause` seconds, so a
    consumer meets them over several polls. A chunk the broker did not acknowledge (it was
    killed or paused) is sent again, as a partner would: the same events, the same ids."""
    await ensure_topics(settings)
    broker = make_broker(settings)
    await broker.connect()
    loop = asyncio.get_running_loop()
    try:
        publisher = EventPublisher(broker, settings)
        for start in range(0, len(envelopes), chunk):
            deadline = loop.time() + patience
            while True:
                try:
                    await asyncio.wait_for(
                        publisher.publish_many(envelopes[start : start + chunk]), 30
                    )
                    break
                except Exception:
                    if loop.time() > deadline:
                        raise
                    await asyncio.sleep(1)
            await asyncio.sleep(pause)
    finally:
        await broker.stop()


async def eventually(condition: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
    """Poll a plain condition (an HTTP answer, a received email) until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := await asyncio.to_thread(condition)):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.3)
    return result
