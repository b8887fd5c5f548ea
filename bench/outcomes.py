"""The outcomes service's two benchmarks (issue 18), medians of `--runs` runs.

    .venv/bin/python -m bench.outcomes [--parts rate,extract] [--alerts 5000] [--casework 400]
                                       [--cases 5000] [--runs 3]

Against the real stack (the project's own Kafka + FerretDB, or HEARTH_KAFKA/HEARTH_MONGO_URL):

- rate: does the outcomes service keep up with the arrears pipeline's peak? The outcomes
  service runs as its own process (as `./hearth demo` runs it). Each run publishes, through
  the real broker to its own topics, what `--alerts` arrears alerts bring the topics outcomes
  reads (TenancyAtRisk, the landlord's TenancyArrearsReported, the prevention referral's
  ReferralReceived and ReferralAssessed, its CaseAllocated: five events an alert) mixed with
  a month of generated casework of a council taking `--casework` referrals a month (contacts,
  reviews, stages, closures, reconnections), and times it from the first publish until the
  service's consumer group has no lag; events/s beside the pipeline's own peaks.
- extract: a quarter's H-CLIC extract for `--cases` cases. The cases' histories are generated
  for the quarter (services/outcomes/history_generator.py), folded as the store folds them and
  written to the store's case_histories; each run then times reading them from the database
  (`OutcomesStore.cases`), `hclic.extract`, `hclic.validate` and every section's CSV.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.common import bench_settings, machine, median, print_table, real_stack
from bench.pipeline import metric_totals
from devstack.platform import Platform
from devstack.provision import Infrastructure
from services.outcomes.facts import Fact, fact_from
from services.outcomes.hclic.extract import extract
from services.outcomes.hclic.fields import Section
from services.outcomes.hclic.validation import validate
from services.outcomes.histories import fold_case
from services.outcomes.history_generator import OrganisationPlan, generate, seasonal_factor
from services.outcomes.store import OutcomesStore
from services.outcomes.subscriptions import SUBSCRIBES
from shared.codes import LegalStage, RiskLevel, Route, Stage, SupportNeed
from shared.events.case_events import CaseAllocated
from shared.events.envelope import Envelope, make_event
from shared.events.referral_events import (
    ReferralAssessed,
    ReferralReceived,
    Referrer,
    TenancyArrearsReported,
    TenancyAtRisk,
)
from shared.ids import stable_id
from shared.kafka import EventPublisher, ensure_topics, make_broker, settings_security
from shared.mongo import make_mongo_client
from shared.settings import HearthSettings
from shared.topics import topic_name

COUNCIL, LANDLORD = "bench-council", "bench-homes"
EVENTS_PER_ALERT = 5
# The arrears pipeline's peaks on this machine (BENCHMARKS.md): (alerts/s, events each brings
# outcomes). A new risk brings five; a repeat none (issue 21), so a feed of repeats with 5 %
# changed brings at most a twentieth of five.
PIPELINE_PEAKS = {
    "new risk end to end (bench.pipeline)": (199, EVENTS_PER_ALERT),
    "feed, 5 % changed (bench.feed)": (1024, EVENTS_PER_ALERT * 0.05),
}
CASE_REF_KEY = "bench-hclic-case-reference-key-0123456789"
QUARTER = date(2026, 7, 1)  # 2026-27 Q2: July to September
SLICE = 5_000  # cases generated (and held in memory) at a time


# --- rate ------------------------------------------------------------------------------------


def alert_events(tag: str, n: int) -> list[Envelope]:
    """What `n` arrears alerts bring the topics outcomes reads: the landlord's signal and
    reading, the prevention referral received and assessed, its allocation."""
    events: list[Envelope] = []
    for i in range(n):
        key = f"{tag}-{i}"
        case_id, person_id = f"ref-{stable_id(key, 'case')}", f"p-{stable_id(key, 'person')}"
        tenancy_id = f"{LANDLORD}:t-{stable_id(key, 'tenancy')[:24]}"
        events += [
            make_event(
                TenancyAtRisk(
                    tenancy_id=tenancy_id,
                    landlord=LANDLORD,
                    alert_id=f"al-{key}",
                    risk_level=RiskLevel.HIGH,
                    reasons=["arrears_over_8_weeks"],
                    arrears_balance=1450.0,
                    weekly_rent=110.0,
                    weeks_in_arrears=13,
                    legal_stage=LegalStage.NOTICE_SERVED,
                    prevention_case_id=case_id,
                ),
                source="referral",
                organisation=LANDLORD,
            ),
            make_event(
                TenancyArrearsReported(
                    tenancy_id=tenancy_id,
                    landlord=LANDLORD,
                    alert_id=f"al-{key}",
                    reported_on=date.today(),
                    arrears_balance=1450.0,
                    case_ids=[case_id],
                ),
                source="referral",
                organisation=LANDLORD,
            ),
        ]
        referrer = Referrer(organisation=LANDLORD, source="arrears_alert")
        now = events[-1].time
        needs = [SupportNeed.BUDGETING_DEBT]
        events += [
            make_event(
                ReferralReceived(
                    case_id=case_id,
                    person_id=person_id,
                    referrer=referrer,
                    received_at=now,
                    support_needs=needs,
                    tenancy_id=tenancy_id,
                    automatic=True,
                ),
                source="referral",
                organisation=COUNCIL,
            ),
            make_event(
                ReferralAssessed(
                    case_id=case_id,
                    person_id=person_id,
                    route=Route.SUPPORT,
                    reasons=["arrears"],
                    referrer=referrer,
                    received_at=now,
                    support_needs=needs,
                    tenancy_id=tenancy_id,
                ),
                source="referral",
                organisation=COUNCIL,
            ),
            make_event(
                CaseAllocated(
                    case_id=case_id,
                    person_id=person_id,
                    route=Route.SUPPORT,
                    lead_worker_id=f"cw-{i % 40}",
                    team_id="bench-team",
                    team_leader_id="tl-1",
                    stage=Stage.STAGE_1,
                    target_hours_per_week=3.0,
                    allocated_at=now,
                    tenancy_id=tenancy_id,
                ),
                source="allocation",
                organisation=COUNCIL,
            ),
        ]
    return events


def casework_events(run: int, referrals_per_month: float) -> list[Envelope]:
    """A month of one council's generated casework, every type, on its own topics."""
    plan = OrganisationPlan(f"{COUNCIL}-{run}", referrals_per_month, landlord=LANDLORD)
    return generate([plan], end=date.today(), months=1, seed=1000 + run)


async def publish(settings: HearthSettings, events: list[Envelope]) -> None:
    broker = make_broker(settings)
    await broker.connect()
    try:
        publisher = EventPublisher(broker, settings)
        for start in range(0, len(events), 5000):
            await publisher.publish_many(events[start : start + 5000])
    finally:
        await broker.stop()


class Lag:
    """Records on the subscribed topics a consumer group has not committed yet."""

    def __init__(self, settings: HearthSettings, group: str) -> None:
        self.group = group
        self.names = [topic_name(t, settings.topic_prefix) for t in SUBSCRIBES]
        security = settings_security(settings)
        self.admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka, **security)
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka, group_id=None, **security
        )
        self.partitions: list[TopicPartition] = []

    async def start(self) -> None:
        await self.admin.start()
        await self.consumer.start()
        described = await self.admin.describe_topics(self.names)
        self.partitions = [
            TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
        ]

    async def stop(self) -> None:
        await self.consumer.stop()
        await self.admin.close()

    async def records(self) -> int:
        ends = await self.consumer.end_offsets(self.partitions)
        committed = await self.admin.list_consumer_group_offsets(
            self.group, partitions=self.partitions
        )
        done = {tp: o.offset for tp, o in committed.items() if o.offset >= 0}
        return sum(ends[tp] - done.get(tp, 0) for tp in self.partitions)


async def rate_run(
    settings: HearthSettings, lag: Lag, facts: Any, run: int, alerts: int, casework: float
) -> dict[str, float]:
    events = alert_events(f"r{run}-{uuid.uuid4().hex[:6]}", alerts)
    events += casework_events(run, casework)
    before = await facts.count_documents({})
    started = time.perf_counter()
    await publish(settings, events)
    produced = time.perf_counter() - started
    while await lag.records() > 0:
        if time.perf_counter() - started > 600:
            raise TimeoutError("the outcomes service did not catch up in 10 minutes")
        await asyncio.sleep(0.25)
    elapsed = time.perf_counter() - started
    recorded = await facts.count_documents({}) - before
    print(
        f"  run {run + 1}: {len(events):,} events ({alerts:,} alerts' worth and "
        f"{len(events) - alerts * EVENTS_PER_ALERT:,} of casework) published in {produced:.1f} s, "
        f"all recorded ({recorded:,} new facts) after {elapsed:.1f} s",
        flush=True,
    )
    if recorded != len(events):
        raise AssertionError(f"{recorded} facts recorded of {len(events)} events")
    return {"events_per_second": len(events) / elapsed, "events": len(events)}


async def rate(args: argparse.Namespace, infra: Infrastructure) -> list[tuple[str, str]]:
    prefix = f"bo{uuid.uuid4().hex[:8]}"
    settings = bench_settings(infra, prefix, mongo_db=f"{prefix}_bench")
    await ensure_topics(settings)
    # The outcomes service as its own process, on the admin principal: a stack formatted
    # before the outcomes service existed has no principal for it.
    env = {
        **os.environ,
        "HEARTH_KAFKA": infra.kafka,
        "HEARTH_KAFKA_USERNAME": infra.kafka_username,
        "HEARTH_KAFKA_PASSWORD": infra.kafka_password,
        "HEARTH_MONGO_URL": infra.mongo_url,
        "HEARTH_TOPIC_PREFIX": f"{prefix}.",
        "HEARTH_OIDC_ISSUER": infra.oidc_issuer,
        "HEARTH_LOG_LEVEL": "WARNING",
    }
    env.pop("HEARTH_KAFKA_CREDENTIALS_FILE", None)
    log_dir = Path(tempfile.mkdtemp(prefix="hearth-bench-"))
    platform = Platform(env, log_dir, database_prefix=prefix)
    client = make_mongo_client(settings)
    facts = client[f"{prefix}_outcomes"]["facts"]
    rates: list[float] = []
    counted: list[float] = []
    try:
        platform.start_service("outcomes")
        platform.wait_healthy(timeout=120)
        lag = Lag(settings, f"{prefix}.outcomes")
        await lag.start()
        try:
            for run in range(args.runs):
                result = await rate_run(settings, lag, facts, run, args.alerts, args.casework)
                rates.append(result["events_per_second"])
                counted.append(result["events"])
        finally:
            await lag.stop()
        for line in handler_profile(platform, "outcomes", sum(counted)):
            print(f"    {line}", flush=True)
    finally:
        platform.stop()
        await client.drop_database(f"{prefix}_outcomes")
        await client.close()
    found = median(rates)
    rows = [
        (
            f"outcomes: events recorded/s (median of {len(rates)})",
            f"{found:,.0f} events/s (runs: {', '.join(f'{r:,.0f}' for r in rates)})",
        ),
        ("  as arrears alerts/s", f"{found / EVENTS_PER_ALERT:,.0f} alerts/s"),
    ]
    for name, (peak, events_each) in PIPELINE_PEAKS.items():
        need = peak * events_each
        rows.append(
            (
                f"  pipeline peak, {name}",
                f"{peak:,} alerts/s = {need:,.0f} events/s to outcomes: x{found / need:.1f}",
            )
        )
    return rows


def handler_profile(platform: Platform, service: str, events: float) -> list[str]:
    """Where the service's time went: its handlers, then its database commands by collection
    (per event recorded), from its own metrics."""
    url = platform.services[service].metrics_url
    lines = []
    for kind, seen in sorted(metric_totals(url).items(), key=lambda kv: -kv[1].get("sum", 0)):
        if seen.get("count"):
            lines.append(f"handler {kind}: x{seen['count']:,.0f}, {seen.get('sum', 0):.1f} s")
    commands = metric_totals(url, "hearth_database_command_seconds", ("command", "collection"))
    for command, seen in sorted(commands.items(), key=lambda kv: -kv[1].get("sum", 0))[:6]:
        n, total = seen.get("count", 0), seen.get("sum", 0)
        if n:
            lines.append(
                f"db {command}: {n / events:.3f} per event, {total:.1f} s, "
                f"{total / n * 1000:.1f} ms each"
            )
    return lines


# --- extract ---------------------------------------------------------------------------------


def case_slices(cases: int) -> Iterator[list[dict[str, Any]]]:
    """Folded case histories of the council for the quarter, `SLICE` cases at a time (each
    slice its own seed: its own ids)."""
    end = QUARTER.replace(month=QUARTER.month + 3)
    days = (end - QUARTER).days
    # The quarter's seasonal demand, so a slice's referrals come to about what is wanted.
    share = sum(seasonal_factor(QUARTER + timedelta(days=d)) for d in range(days)) / days
    for n, start in enumerate(range(0, cases, SLICE)):
        wanted = min(SLICE, cases - start)
        rate = 1.1 * wanted / share / (days / 30.44)  # a little over, trimmed below
        plan = OrganisationPlan(COUNCIL, rate, landlord=LANDLORD)
        facts: dict[str, list[Fact]] = defaultdict(list)
        for envelope in generate([plan], end=end, months=3, seed=n + 1):
            fact = fact_from(envelope, envelope.payload())
            if fact.kind == "case":
                facts[fact.subject].append(fact)
        documents = []
        for subject, found in list(facts.items())[:wanted]:
            folded = fold_case(subject, found).document()
            documents.append({"_id": subject, **folded, "facts": len(found)})
        yield documents


async def extract_run(store: OutcomesStore) -> dict[str, float]:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    cases = await store.cases(COUNCIL)
    timings["read"] = time.perf_counter() - started
    mark = time.perf_counter()
    made = extract(cases, COUNCIL, QUARTER, key=CASE_REF_KEY)
    timings["extract"] = time.perf_counter() - mark
    mark = time.perf_counter()
    errors = validate(made)
    timings["validate"] = time.perf_counter() - mark
    mark = time.perf_counter()
    size = sum(len(made.to_csv(section)) for section in Section)
    timings["csv"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    print(
        f"  {len(cases):,} histories read, {len(made.cases):,} cases in the extract, "
        f"{len(errors):,} errors, {size / 1e6:.1f} MB of CSV: "
        + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()),
        flush=True,
    )
    return timings


async def extract_bench(args: argparse.Namespace, infra: Infrastructure) -> list[tuple[str, str]]:
    prefix = f"bo{uuid.uuid4().hex[:8]}"
    settings = bench_settings(infra, prefix, mongo_db=f"{prefix}_bench")
    client = make_mongo_client(settings)
    database = f"{prefix}_outcomes"
    store = OutcomesStore(client[database])
    runs: list[dict[str, float]] = []
    try:
        await store.ensure_indexes()
        started = time.perf_counter()
        loaded = 0
        for documents in case_slices(args.cases):
            for chunk in range(0, len(documents), 1000):
                await store.rollups["case"].insert_many(documents[chunk : chunk + 1000])
            loaded += len(documents)
        print(f"  {loaded:,} case histories loaded in {time.perf_counter() - started:.0f} s")
        for _ in range(args.runs):
            runs.append(await extract_run(store))
    finally:
        await client.drop_database(database)
        await client.close()
    parts = ("read", "extract", "validate", "csv", "total")
    figures = {part: median([run[part] for run in runs]) for part in parts}
    return [
        (
            f"H-CLIC extract, {args.cases:,} cases, a quarter (median of {len(runs)})",
            f"{figures['total']:.1f} s: "
            + ", ".join(f"{part} {figures[part]:.1f} s" for part in parts[:-1]),
        ),
    ]


# --- both ------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, infra: Infrastructure) -> list[tuple[str, str]]:
    rows = [("machine", machine())]
    parts = set(args.parts.split(","))
    if "rate" in parts:
        rows += await rate(args, infra)
    if "extract" in parts:
        rows += await extract_bench(args, infra)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.outcomes")
    parser.add_argument("--parts", default="rate,extract", help="which of rate,extract")
    parser.add_argument("--alerts", type=int, default=5_000, help="alerts' worth of events a run")
    parser.add_argument(
        "--casework", type=float, default=400.0, help="referrals a month of the generated casework"
    )
    parser.add_argument("--cases", type=int, default=5_000, help="cases in the H-CLIC quarter")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with real_stack() as infra:
        rows = asyncio.run(run(args, infra))
    print_table("Hearth outcomes benchmarks", rows)


if __name__ == "__main__":
    main()
