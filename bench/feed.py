"""A landlord's nightly feed, mostly repeats, beside the raw clients' ceilings, in one run.

    .venv/bin/python -m bench.feed [--alerts 1000000] [--tenancies 50000] [--changed 0.05]

Against the real stack, with the referral service (which holds the arrears part) as its own
process. First a seed: one alert per tenancy (untimed). Then the feed: `alerts / tenancies`
nights, every tenancy alerting each night, `changed` of all alerts saying something new (each
tenancy at most once); the rest repeat what the tenancy said the night before. The feed is
produced while the service is stopped (a backlog, so producing is not what is measured), then
the service is started and the clock runs until the arrears consumer group has no lag and
every expected event has been published. It prints the drain rate, the exact counts of
TenancyAtRisk and prevention referrals (ReferralSubmitted) the feed raised against those the
feed's design implies, and the per-command database cost of the referral service.

Each changing tenancy does one of four things (by `(i // nights) % 4`, so every night mixes
them): low -> medium (TenancyAtRisk and a prevention referral), low -> other low figures (a
write, no event), medium -> cleared (a write, no event), medium -> high (TenancyAtRisk, no
referral: the seed's referral is still pending). A repeat must cost no write and no event.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.ceilings import measure
from bench.common import (
    bench_settings,
    kafka_options,
    machine,
    print_table,
    real_stack,
    services_env,
)
from bench.pipeline import group_lag, handler_profile, wait_until
from devstack.platform import Platform
from devstack.provision import Infrastructure
from shared.events.envelope import make_event
from shared.events.referral_events import ArrearsAlertSubmitted
from shared.kafka import EventPublisher, ensure_topics, make_broker, settings_security
from shared.settings import HearthSettings
from shared.topics import Topic, topic_name

LANDLORD = "bench-homes"
AT_RISK, REFERRAL = "hearth.TenancyAtRisk.v1", "hearth.ReferralSubmitted.v1"
# The figures of each step: seeds, and what a changing tenancy says instead.
LOW = {"arrears_balance": 100.0, "weekly_rent": 110.0, "weeks_in_arrears": 1}
LOW_AGAIN = {"arrears_balance": 150.0, "weekly_rent": 110.0, "weeks_in_arrears": 1.5}
MEDIUM = {"arrears_balance": 600.0, "weekly_rent": 110.0, "weeks_in_arrears": 5}
HIGH = {"arrears_balance": 600.0, "weekly_rent": 110.0, "legal_stage": "notice_served"}
CLEARED = {"arrears_balance": 0.0, "weekly_rent": 110.0}
# kind -> (seed, change, TenancyAtRisk raised by the change, referral raised by the change)
KINDS = (
    (LOW, MEDIUM, 1, 1),
    (LOW, LOW_AGAIN, 0, 0),
    (MEDIUM, CLEARED, 0, 0),
    (MEDIUM, HIGH, 1, 0),
)


class Feed:
    """Which tenancy says what on which night; and the events that must come of it."""

    def __init__(self, alerts: int, tenancies: int, changed: float) -> None:
        if alerts % tenancies:
            raise SystemExit("--alerts must be a multiple of --tenancies (whole nights)")
        self.tenancies = tenancies
        self.nights = alerts // tenancies
        self.changing = round(alerts * changed)
        if self.changing > tenancies:
            raise SystemExit("--changed too high: each tenancy changes at most once")

    def kind(self, i: int) -> tuple[dict[str, Any], dict[str, Any], int, int]:
        return KINDS[(i // self.nights) % len(KINDS)]

    def change_night(self, i: int) -> int | None:
        return i % self.nights if i < self.changing else None

    def seed(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for i in range(self.tenancies):
            yield i, self.kind(i)[0]

    def night(self, n: int) -> Iterator[tuple[int, dict[str, Any]]]:
        for i in range(self.tenancies):
            seed, change, _, _ = self.kind(i)
            night = self.change_night(i)
            yield i, change if night is not None and n >= night else seed

    def expected_seed(self) -> tuple[int, int]:
        mediums = sum(1 for i in range(self.tenancies) if self.kind(i)[0] is MEDIUM)
        return mediums, mediums

    def expected_feed(self) -> tuple[int, int]:
        kinds = [self.kind(i) for i in range(self.changing)]
        return sum(k[2] for k in kinds), sum(k[3] for k in kinds)


def alert(i: int, figures: dict[str, Any]) -> Any:
    return make_event(
        ArrearsAlertSubmitted(tenancy_reference=f"feed-{i:07d}", **figures),
        source="urn:hearth:bench",
        organisation=LANDLORD,
    )


async def produce(settings: HearthSettings, alerts: Iterator[tuple[int, dict[str, Any]]]) -> int:
    broker = make_broker(settings)
    await broker.connect()
    sent = 0
    try:
        publisher = EventPublisher(broker, settings)
        chunk: list[Any] = []
        for i, figures in alerts:
            chunk.append(alert(i, figures))
            if len(chunk) == 5000:
                await publisher.publish_many(chunk)
                sent += len(chunk)
                chunk = []
        if chunk:
            await publisher.publish_many(chunk)
            sent += len(chunk)
    finally:
        await broker.stop()
    return sent


class EventCounter:
    """Distinct event ids of a type on a topic, from the offsets it was started at."""

    def __init__(self, settings: HearthSettings, topic: Topic, event_type: str) -> None:
        self.name = topic_name(topic, settings.topic_prefix)
        self.event_type = event_type.encode()
        self.ids: set[bytes] = set()
        self.partitions = settings.topic_partitions  # as ensure_topics made them
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka, **settings_security(settings), group_id=None
        )

    async def start(self) -> None:
        await self.consumer.start()
        partitions = [TopicPartition(self.name, p) for p in range(self.partitions)]
        self.consumer.assign(partitions)
        for tp, offset in (await self.consumer.end_offsets(partitions)).items():
            self.consumer.seek(tp, offset)

    async def read(self) -> int:
        while batch := await self.consumer.getmany(timeout_ms=300, max_records=10_000):
            for records in batch.values():
                for record in records:
                    headers = dict(record.headers)
                    if headers.get("ce_type") == self.event_type:
                        self.ids.add(headers["ce_id"])
        return len(self.ids)

    async def stop(self) -> None:
        await self.consumer.stop()


async def drained(settings: HearthSettings) -> bool:
    return await group_lag(settings, "referral-arrears", Topic.ARREARS_ALERTS) == 0


async def until_counted(
    at_risk: EventCounter, referrals: EventCounter, want: tuple[int, int], timeout: float
) -> tuple[int, int]:
    async def reached() -> bool:
        return (await at_risk.read(), await referrals.read()) >= want

    try:
        await wait_until(reached, timeout=timeout, every=0.5)
    except TimeoutError:
        pass
    return await at_risk.read(), await referrals.read()


async def run(args: argparse.Namespace, infra: Infrastructure) -> list[tuple[str, str]]:
    feed = Feed(args.alerts, args.tenancies, args.changed)
    ceilings = await measure(kafka_options(infra), infra.mongo_url, messages=100_000, runs=1)
    prefix = f"b{uuid.uuid4().hex[:8]}"
    settings = bench_settings(infra, prefix)
    await ensure_topics(settings)
    env = services_env(infra, prefix)
    platform = Platform(env, Path(tempfile.mkdtemp(prefix="hearth-feed-")), database_prefix=prefix)
    at_risk = EventCounter(settings, Topic.TENANCY_RISK, AT_RISK)
    referrals = EventCounter(settings, Topic.REFERRAL_INTAKE, REFERRAL)
    try:
        platform.start_service("referral")
        platform.wait_healthy(timeout=120)
        await at_risk.start()
        await referrals.start()

        started = time.perf_counter()
        await produce(settings, feed.seed())
        await wait_until(lambda: drained(settings), timeout=3600, every=1)
        seeded = await until_counted(at_risk, referrals, feed.expected_seed(), 120)
        await wait_until(
            lambda: _lag_zero(settings, "referral", Topic.REFERRAL_INTAKE), timeout=3600, every=1
        )
        seed_seconds = time.perf_counter() - started
        print(f"  seed of {feed.tenancies:,} alerts in {seed_seconds:.0f} s: {seeded}", flush=True)
        at_risk.ids.clear()
        referrals.ids.clear()

        platform.services["referral"].stop()  # the feed arrives as a backlog
        produced = time.perf_counter()
        sent = 0
        for night in range(feed.nights):
            sent += await produce(settings, feed.night(night))
        produce_seconds = time.perf_counter() - produced
        print(f"  feed of {sent:,} alerts produced in {produce_seconds:.0f} s", flush=True)

        restarted = time.perf_counter()
        service = platform.start_service("referral")
        platform.wait_healthy(timeout=120)
        ingested = await wait_until(lambda: drained(settings), timeout=3600, every=0.5)
        cpu = cpu_seconds(service.process.pid) if service.process else float("nan")
        want = feed.expected_feed()
        counted = await until_counted(at_risk, referrals, want, 120)
        published = time.perf_counter()
        await asyncio.sleep(3)  # anything beyond the expected would show now
        counted = (await at_risk.read(), await referrals.read())
        drain = ingested - restarted
        rate = sent / drain
        profile = handler_profile(platform, sent)
    finally:
        platform.stop()
        await at_risk.stop()
        await referrals.stop()
    for line in profile:
        print(f"    {line}", flush=True)
    ok = "exact" if counted == want else "MISMATCH"
    return [
        ("machine", machine()),
        ("load (1-minute average at the end)", f"{os.getloadavg()[0]:.1f}"),
        ("ceiling: aiokafka consume->produce", f"{ceilings['relay']:,.0f} msg/s"),
        ("ceiling: PyMongo insert_many", f"{ceilings['insert']:,.0f} docs/s"),
        (
            "feed",
            f"{sent:,} alerts on {feed.tenancies:,} tenancies over {feed.nights} nights, "
            f"{feed.changing:,} changed ({feed.changing / sent:.1%})",
        ),
        (
            "feed drained (from the service's start to no lag)",
            f"{drain:.1f} s, {rate:,.0f} alerts/s "
            f"(all events published at {published - restarted:.1f} s)",
        ),
        ("  ratio to the Kafka ceiling", f"{rate / ceilings['relay']:.1%}"),
        (
            "  referral process CPU (start to drained)",
            f"{cpu:.1f} s, {cpu / sent * 1000:.2f} s per 1,000 alerts "
            f"(= {sent / cpu:,.0f} alerts/s on one whole core)",
        ),
        (
            "TenancyAtRisk raised by the feed",
            f"{counted[0]:,} (expected {want[0]:,}, {ok})",
        ),
        ("prevention referrals raised by the feed", f"{counted[1]:,} (expected {want[1]:,})"),
        ("seed (untimed in the figure)", f"{feed.tenancies:,} alerts in {seed_seconds:.0f} s"),
    ]


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _lag_zero(settings: HearthSettings, group: str, topic: Topic) -> bool:
    return await group_lag(settings, group, topic) == 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.feed")
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--tenancies", type=int, default=50_000)
    parser.add_argument("--changed", type=float, default=0.05, help="share of alerts changed")
    args = parser.parse_args()
    with real_stack() as infra:
        rows = asyncio.run(run(args, infra))
    print_table("A nightly arrears feed, mostly repeats, beside its ceilings (one run)", rows)


if __name__ == "__main__":
    main()
