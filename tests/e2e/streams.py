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
from shared.kafka import EventPublisher, ensure_topics, make_broker
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

    def __init__(self, settings: HearthSettings, *topics: Topic) -> None:
        self.consumer = AIOKafkaConsumer(
            *(topic_name(t, settings.topic_prefix) for t in topics),
            bootstrap_servers=settings.kafka,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            max_poll_records=5000,
        )
        self.events: list[tuple[dict[str, str], dict[str, Any]]] = []

    async def __aenter__(self) -> EventLog:
        await self.consumer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.consumer.stop()

    async def poll(self) -> None:
        batch = await self.consumer.getmany(timeout_ms=200)
        for records in batch.values():
            for record in records:
                headers = {k: v.decode() for k, v in record.headers}
                self.events.append((headers, json.loads(record.value or b"{}")))

    def of_type(self, short_type: str) -> list[tuple[dict[str, str], dict[str, Any]]]:
        wanted = f"hearth.{short_type}.v1"
        return [(h, d) for h, d in self.events if h.get("ce_type") == wanted]

    def distinct(self, short_type: str, field: str = "") -> set[str]:
        """Distinct event ids (or values of a data field) of one type."""
        return {(d.get(field) if field else h["ce_id"]) for h, d in self.of_type(short_type)}

    def grouped(self, short_type: str, key: str, value: str) -> dict[str, set[str]]:
        groups: dict[str, set[str]] = defaultdict(set)
        for _, data in self.of_type(short_type):
            groups[str(data.get(key))].add(str(data.get(value)))
        return groups

    async def wait_for(
        self, condition: Callable[[EventLog], bool], timeout: float = 120.0, what: str = ""
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition(self):
            if loop.time() > deadline:
                types = defaultdict(int)
                for headers, _ in self.events:
                    types[headers.get("ce_type", "?")] += 1
                raise AssertionError(f"timed out waiting for {what}; seen {dict(types)}")
            await self.poll()

    async def settle(self, seconds: float = 2.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            await self.poll()


async def eventually(condition: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
    """Poll a plain condition (an HTTP answer, a received email) until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := await asyncio.to_thread(condition)):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.3)
    return result
