"""The platform's pipeline measured beside the raw clients' ceilings, in one run.

    .venv/bin/python -m bench.pipeline [--alerts 20000] [--referrals 100] [--parts e2e,backlog]
                                       [--backlog 1000000] [--backlog-tenancies 50000]
                                       [--no-split]

Against the real stack (the project's own Kafka + FerretDB, or HEARTH_KAFKA/HEARTH_MONGO_URL),
with every service running as its own process (the laned ones split in two, an interactive and
a bulk process, as a deployment runs them: docs/LANES.md "Lanes in processes"; `--no-split`
runs each as one process, `HEARTH_WORKLOAD=all`), it prints:
- the ceilings: aiokafka consume->produce and PyMongo insert_many on the same servers;
- arrears alerts end to end per second: Kafka ingest -> TenancyAtRisk -> prevention referral
  -> its notification record (the referrer's acknowledgement), and the ratios to the ceilings;
  then the same through every stage (allocation, the support case: until every consumer group
  of the run has caught up);
- referral -> CaseAllocated latency p50/p99, idle and while an arrears batch runs;
- the time to drain a backlog of alerts that piled up while the referral service was down;
- with the end-to-end part, its cost model (bench/cost_model.py): per service, database
  commands per alert by command and collection, documents written per alert, Kafka records
  per alert per topic, and CPU seconds per 1,000 alerts per process.

Reading the cost model. Its window runs from just before the alerts are produced until every
consumer group of the run has caught up and the services have gone quiet, so it holds all the
work the alerts caused (the notification worker's sends too) plus a little idle polling, whose
rate is printed. Database commands per alert is what bounds a service once the database is
across a network: a stage handling a poll's events with a constant number of commands costs
(commands per poll) / (events per poll), so its figure falls as polls fill; a command near
1 per alert on a collection read or written per event is a round trip per event. Polls are
only as full as the stage before fills them: a slow stage upstream makes a per-poll cost look
per-event, so compare at size (--alerts 5000 or more). Documents written per alert is the
floor no batching removes (each alert's tenancy, referral, case, delivery...). CPU seconds per
1,000 alerts says which process saturates first (with one core per process, 1,000 / it is
that process's ceiling in alerts/s). FerretDB and Kafka are servers shared with anything else
running on them: their CPU in the window includes that load.

Estimating a real MongoDB replica set. Per alert, roughly
    commands/alert x (round trip + the majority commit for writes, ~1-2 ms in one region)
        / commands in flight at once (consumers, lanes, replicas)
    + documents written/alert x the cost of one document (`bench.ceilings`'s insert_many
        docs/s, run against the cluster, measures it; tens of microseconds with few indexes).
The first term shrinks as polls fill; the second is the floor: e.g. 20 documents per alert on
a primary writing 50,000 docs/s bounds the platform at about 2,500 alerts/s. Kafka records per
alert, times their size and the replication factor, gives the broker's share the same way. The
services' CPU per 1,000 alerts does not depend on the database and carries over.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from bench.ceilings import measure
from bench.common import (
    bench_settings,
    kafka_options,
    machine,
    print_table,
    real_stack,
    services_env,
)
from bench.cost_model import (
    Snapshot,
    commands_in,
    cost_table,
    lagging_groups,
    scrape,
    server_pids,
    snapshot,
)
from devstack.identities import Identities, Identity
from devstack.keycloak_admin import KeycloakAdmin
from devstack.platform import Platform, ServiceProcess
from devstack.provision import Infrastructure
from devstack.sinks import MailSink
from shared.codes import LegalStage
from shared.events.envelope import make_event
from shared.events.referral_events import ArrearsAlertSubmitted
from shared.kafka import EventPublisher, ensure_topics, make_broker, settings_security
from shared.mongo import make_mongo_client
from shared.settings import HearthSettings
from shared.topics import LANED, Topic, topic_name

# Prevention referrals from the arrears batches go to COUNCIL; the latency samples are CITY's
# own referrals, so they are never queued behind a batch that has used up COUNCIL's hours
# (waiting for capacity is by design, not slowness): what they share is the platform.
COUNCIL, CITY, LANDLORD = "bench-council", "bench-city", "bench-homes"
# The services the benchmark runs; those consuming laned topics are split in two unless
# --no-split (agreements reads only the unlaned agreements topic).
SERVICES = ("referral", "allocation", "support", "notifications", "agreements")
SPLIT = ("referral", "allocation", "support", "notifications")
GAVE_UP_MS = 30_000.0  # a referral not allocated within 30 s counts as 30 s
SET_UP_TIMEOUT = 30.0  # seconds for each set-up request: a shared, loaded machine is slow


def alert(reference: str, balance: float = 1450.0) -> Any:
    return make_event(
        ArrearsAlertSubmitted(
            tenancy_reference=reference,
            arrears_balance=balance,
            weekly_rent=110.0,
            weeks_in_arrears=13,
            trend="worsening",
            legal_stage=LegalStage.NOTICE_SERVED,
        ),
        source="urn:hearth:bench",
        organisation=LANDLORD,
    )


async def produce_alerts(settings: HearthSettings, references: list[str]) -> float:
    broker = make_broker(settings)
    await broker.connect()
    started = time.perf_counter()
    try:
        publisher = EventPublisher(broker, settings)
        for start in range(0, len(references), 5000):
            await publisher.publish_many(alert(ref) for ref in references[start : start + 5000])
    finally:
        await broker.stop()
    return time.perf_counter() - started


async def group_lag(settings: HearthSettings, group: str, topic: Topic) -> int:
    name = topic_name(topic, settings.topic_prefix)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka, **settings_security(settings))
    # Subscribed (without a group), so the topic's partitions are in its metadata: an
    # unsubscribed consumer may know the topic's name but not its partitions, and a lag
    # summed over no partitions is a false 0.
    consumer = AIOKafkaConsumer(
        name, bootstrap_servers=settings.kafka, **settings_security(settings)
    )
    await admin.start()
    await consumer.start()
    try:
        known = consumer.partitions_for_topic(name)
        if not known:
            raise RuntimeError(f"{name}: no partitions known")
        partitions = [TopicPartition(name, p) for p in known]
        ends = await consumer.end_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(
            f"{settings.topic_prefix}{group}", partitions=partitions
        )
        return sum(
            ends[tp]
            - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0)
            for tp in partitions
        )
    finally:
        await consumer.stop()
        await admin.close()


async def wait_until(check: Any, timeout: float, every: float = 0.2) -> float:
    started = time.perf_counter()
    while not await check():
        if time.perf_counter() - started > timeout:
            raise TimeoutError("benchmark condition not reached")
        await asyncio.sleep(every)
    return time.perf_counter()


class Counts:
    def __init__(self, settings: HearthSettings, prefix: str) -> None:
        self.client = make_mongo_client(settings)
        self.deliveries = self.client[f"{prefix}_notifications"]["deliveries"]
        self.referrals = self.client[f"{prefix}_referral"]["referrals"]
        self.cases = self.client[f"{prefix}_allocation"]["cases"]

    async def alert_notifications(self) -> int:
        """Notification records of the alert path: urgent alerts on open cases, and the
        acknowledgement recorded for each referral. Counted with a filter the database can
        narrow in SQL (a regex on case ids made every poll decode every delivery, slowing
        what it measured); the latency samples' few human referrals count too (≤ --referrals).
        """
        return await self.deliveries.count_documents(
            {"trigger_event_type": {"$in": ["TenancyAtRisk", "ReferralReceived"]}}
        )

    async def prevention_referrals(self) -> int:
        return await self.referrals.count_documents({"automatic": True})

    async def allocated(self, organisation: str) -> int:
        """The organisation's cases allocated so far (each count decodes every case: not
        polled while latencies are sampled)."""
        return await self.cases.count_documents(
            {"organisation": organisation, "status": "allocated"}
        )


async def allocations_settled(
    counts: Counts, organisation: str, timeout: float, quiet: float = 4.0
) -> tuple[int, float]:
    """The organisation's allocated cases once their count has stopped rising for `quiet`
    seconds, and when it last rose (seconds on `time.perf_counter`). A batch's cases are placed
    beside the consumers, so consumer groups catching up does not mean they are allocated."""
    last = await counts.allocated(organisation)
    rose_at = time.perf_counter()
    deadline = rose_at + timeout
    while time.perf_counter() < deadline:
        await asyncio.sleep(1)
        now = await counts.allocated(organisation)
        if now != last:
            last, rose_at = now, time.perf_counter()
        elif time.perf_counter() - rose_at >= quiet:
            break
    return last, rose_at


async def end_to_end_rate(
    settings: HearthSettings,
    counts: Counts,
    notifications_urls: list[str],
    n: int,
    tag: str,
    timeout: float,
) -> dict[str, float]:
    before_notes = await counts.alert_notifications()
    before_refs = await counts.prevention_referrals()
    before_handled = await notifications_handled(notifications_urls)
    references = [f"{tag}-{i:07d}" for i in range(n)]
    started = time.perf_counter()
    produce_seconds = await produce_alerts(settings, references)

    progress = {"notifications": 0, "referrals": 0}

    async def done() -> bool:
        # The database counts decode every matching document (FerretDB has no count
        # pushdown): polled each second they took a fifth of its CPU from what they measured.
        # The notification service's handled-event counter says when to start counting.
        if await notifications_handled(notifications_urls) - before_handled < 2 * n:
            return False
        progress["notifications"] = await counts.alert_notifications() - before_notes
        progress["referrals"] = await counts.prevention_referrals() - before_refs
        return min(progress.values()) >= n

    try:
        finished = await wait_until(done, timeout=timeout, every=0.5)
    except TimeoutError:
        finished = time.perf_counter()
        # Counted as far as it got (the handled-event gate above never opened).
        progress["notifications"] = await counts.alert_notifications() - before_notes
        progress["referrals"] = await counts.prevention_referrals() - before_refs
    elapsed = finished - started
    completed = min(progress.values())
    print(
        f"  [{tag}] {n} alerts: {progress['referrals']} prevention referrals and "
        f"{progress['notifications']} notification records after {elapsed:.0f} s",
        flush=True,
    )
    return {
        "rate": completed / elapsed,
        "completed": completed,
        "referral_rate": progress["referrals"] / elapsed,
        "notification_rate": progress["notifications"] / elapsed,
        "produce_seconds": produce_seconds,
    }


async def referral_latencies(
    settings: HearthSettings, referral_url: str, samples: int, headers: dict[str, str]
) -> list[float]:
    reader = AIOKafkaConsumer(
        topic_name(Topic.CASE_EVENTS, settings.topic_prefix),
        bootstrap_servers=settings.kafka,
        **settings_security(settings),
        group_id=None,
        auto_offset_reset="latest",
    )
    await reader.start()
    seen: dict[str, float] = {}
    waiting: dict[str, asyncio.Event] = {}
    stop = asyncio.Event()

    async def read() -> None:
        while not stop.is_set():
            batch = await reader.getmany(timeout_ms=50)
            now = time.perf_counter()
            for records in batch.values():
                for record in records:
                    headers = dict(record.headers)
                    if headers.get("ce_type") == b"hearth.CaseAllocated.v1":
                        case_id = headers["ce_subject"].decode()
                        seen.setdefault(case_id, now)
                        if case_id in waiting:
                            waiting[case_id].set()

    task = asyncio.create_task(read())
    await asyncio.sleep(1)  # the reader joins at the end of the topic
    latencies: list[float] = []
    answers: list[float] = []  # the POST alone: intake, screening, publish
    async with httpx.AsyncClient(headers=headers) as http:
        for i in range(samples):
            body = _referral(i)
            sent = time.perf_counter()
            try:
                answer = await http.post(f"{referral_url}/v1/referrals", json=body, timeout=30)
            except httpx.TimeoutException:
                latencies.append(GAVE_UP_MS)  # counted, not dropped: it is the slow tail
                continue
            answers.append((time.perf_counter() - sent) * 1000)
            case_id = answer.json()["id"]
            arrived = waiting.setdefault(case_id, asyncio.Event())
            if case_id not in seen:
                try:
                    await asyncio.wait_for(arrived.wait(), 30)
                except TimeoutError:
                    latencies.append(GAVE_UP_MS)
                    continue
            latencies.append((seen[case_id] - sent) * 1000)
    stop.set()
    await task
    await reader.stop()
    if answers:
        print(f"    (the POST alone: {_latency(answers)})", flush=True)
    return latencies


def _referral(i: int) -> dict[str, Any]:
    return {
        "source": "housing_officer",
        "referrer": {"organisation": CITY, "source": "housing_officer"},
        "person": {
            "given_name": f"Bench{i}",
            "family_name": "Person",
            "date_of_birth": "1980-01-01",
        },
        "consent": {"to_record": True, "to_share": True, "share_with": [], "channels_allowed": []},
        "support_needs": ["budgeting_debt", "benefits"],
        "urgency": {"legal_stage": "notice_served"},
        "referring_area": "Derby",
        "recourse_to_public_funds": True,
    }


def _latency(values: list[float]) -> str:
    if not values:
        return "no CaseAllocated seen"
    figures = f"p50 {statistics.median(values):.1f} ms, p99 {percentile(values, 99):.1f} ms"
    gave_up = sum(v >= GAVE_UP_MS for v in values)
    return f"{figures} ({gave_up} of {len(values)} not seen within 30 s)" if gave_up else figures


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def metric_totals(
    url: str, family_name: str = "hearth_handler_seconds", labels: tuple[str, ...] = ("type",)
) -> dict[str, dict[str, float]]:
    """A histogram's count and sum per label value from a service's metrics (at `url`, on
    the service's own metrics port)."""
    totals: dict[str, dict[str, float]] = {}
    # Only the two sample names asked for, uncompressed: the whole exposition, gzipped, took
    # 6 % of the notification process's CPU when the e2e part polled it twice a second.
    only = {"name[]": [f"{family_name}_count", f"{family_name}_sum"]}
    answer = httpx.get(url, params=only, headers={"Accept-Encoding": "identity"}, timeout=10)
    for family in text_string_to_metric_families(answer.text):
        if family.name != family_name:
            continue
        for sample in family.samples:
            kind = sample.name.rsplit("_", 1)[-1]  # ..._sum / ..._count
            if kind in ("sum", "count"):
                key = " ".join(sample.labels[label] for label in labels)
                totals.setdefault(key, {})[kind] = sample.value
    return totals


async def notifications_handled(urls: list[str]) -> float:
    """TenancyAtRisk and ReferralReceived events the notification service has handled, in
    every process of it (a split service's bulk process handles the alerts'): each alert of a
    run brings one of each (the ReferralReceived of its prevention referral)."""
    handled = 0.0
    for url in urls:
        totals = await asyncio.to_thread(metric_totals, url)
        handled += sum(
            totals.get(t, {}).get("count", 0) for t in ("TenancyAtRisk", "ReferralReceived")
        )
    return handled


def cpu_seconds(platform: Platform) -> dict[str, float]:
    """Each service process's CPU seconds so far (its own metrics)."""
    seconds = {}
    for key, process in platform.services.items():
        spent = scrape(process.metrics_url).cpu_seconds
        if spent is not None:
            seconds[key] = spent
    return seconds


def database_times(urls: dict[str, str]) -> dict[str, tuple[float, float]]:
    """Each process's database commands so far: how many, and their seconds."""
    times = {}
    for name, url in urls.items():
        totals = metric_totals(
            url, "hearth_database_command_seconds", ("command", "collection")
        ).values()
        times[name] = (sum(t.get("count", 0) for t in totals), sum(t.get("sum", 0) for t in totals))
    return times


def _per_command(
    before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]
) -> str:
    shown = []
    for name, (count_after, seconds_after) in after.items():
        count = count_after - before[name][0]
        seconds = seconds_after - before[name][1]
        each = f"{seconds / count * 1000:.1f} ms each" if count else "-"
        shown.append(f"{name} {count:,.0f}, {each}")
    return "; ".join(shown)


def run_queue_waits(platform: Platform) -> dict[str, float]:
    """Seconds each service process's threads have been runnable but waiting for a CPU so far
    (Linux schedstat): what a busy machine costs a process beside the CPU it used."""
    waits = {}
    for key, service in platform.services.items():
        if service.process is None:
            continue
        total = 0
        for task in Path(f"/proc/{service.process.pid}/task").glob("*"):
            try:
                total += int((task / "schedstat").read_text().split()[1])
            except (OSError, IndexError, ValueError):
                continue  # a thread that ended meanwhile
        waits[key] = total / 1e9
    return waits


def processes_of(platform: Platform, name: str) -> list[ServiceProcess]:
    """A service's processes: the one, or a split service's interactive and bulk ones."""
    return [p for key, p in platform.services.items() if key in (name, f"{name}-bulk")]


def start(platform: Platform, name: str, split: bool) -> None:
    if split and name in SPLIT:
        platform.start_split(name)
    else:
        platform.start_service(name)


def handler_profile(platform: Platform, alerts: int) -> list[str]:
    """Where the time went, per service: handlers by event type, then the database commands
    by collection (per alert of the run; the latency samples' few referrals count too)."""
    lines = []
    for name, service in platform.services.items():
        handlers = metric_totals(service.metrics_url)
        commands = metric_totals(
            service.metrics_url, "hearth_database_command_seconds", ("command", "collection")
        )
        for event_type, seen in sorted(handlers.items(), key=lambda kv: -kv[1].get("sum", 0)):
            n, total = seen.get("count", 0), seen.get("sum", 0)
            if n:
                mean = total / n * 1000
                lines.append(f"{name}: {event_type} x{n:,.0f}, {total:.1f} s, {mean:.2f} ms each")
        for command, seen in sorted(commands.items(), key=lambda kv: -kv[1].get("sum", 0))[:6]:
            n, total = seen.get("count", 0), seen.get("sum", 0)
            if n:
                lines.append(
                    f"{name}:   db {command} {n / alerts:.2f} per alert, {total:.1f} s, "
                    f"{total / n * 1000:.2f} ms each"
                )
    return lines


def agree(agreements_url: str, homes: dict[str, str], council: dict[str, str]) -> None:
    """The landlord's risk raising referrals in the council, and its housing officers hearing
    of them, need live agreements: proposed by the landlord's admin, accepted by the council's
    (then a moment for each service's copy to catch up)."""
    starts = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    for purpose in ("arrears-prevention", "partner-notices"):
        body = {
            "counterparty": COUNCIL,
            "purpose": purpose,
            "categories": ["identity", "tenancy", "arrears", "case-status"],
            "starts": starts,
        }
        proposed = httpx.post(
            f"{agreements_url}/agreements", json=body, headers=homes, timeout=SET_UP_TIMEOUT
        )
        proposed.raise_for_status()
        accept = f"{agreements_url}/agreements/{proposed.json()['agreement_id']}/accept"
        httpx.post(accept, json={}, headers=council, timeout=SET_UP_TIMEOUT).raise_for_status()
    time.sleep(2)


def set_up(platform: Platform, identities: Identities) -> None:
    council = identities.headers(Identity(COUNCIL))
    homes = identities.headers(Identity(LANDLORD))
    url = {name: f"{p.url}/v1" for name, p in platform.services.items()}
    agree(url["agreements"], homes, council)
    settings = (
        (f"{url['referral']}/risk-rules", {"prevention_organisation": COUNCIL}, homes),
        (
            f"{url['notifications']}/settings",
            {"housing_officer_email": "officers@bench-homes.test"},
            homes,
        ),
        (f"{url['notifications']}/settings", {"sharing_agreements": [LANDLORD]}, council),
    )
    for address, body, headers in settings:  # not checked, as before (one is refused: 422)
        httpx.put(address, json=body, headers=headers, timeout=SET_UP_TIMEOUT)
    for name, organisation in (("council", COUNCIL), ("city", CITY)):
        add_team(url["allocation"], name, identities.headers(Identity(organisation)))


def add_team(allocation_url: str, name: str, headers: dict[str, str], workers: int = 40) -> None:
    team = {
        "id": f"{name}-t",
        "name": "Bench team",
        "team_leader": {"id": "tl", "name": "TL", "email": "tl@b.test"},
    }
    httpx.post(f"{allocation_url}/teams", json=team, headers=headers, timeout=SET_UP_TIMEOUT)
    for i in range(workers):
        worker = {
            "id": f"{name}-w{i}",
            "team_id": f"{name}-t",
            "name": f"Worker {i}",
            "email": f"w{i}@b.test",
            "specialisms": ["generalist"],
            "contracted_hours": 60,
            "max_caseload": 500,
        }
        httpx.post(
            f"{allocation_url}/caseworkers", json=worker, headers=headers, timeout=SET_UP_TIMEOUT
        )


async def backlog_drain(
    args: argparse.Namespace, settings: HearthSettings, platform: Platform
) -> tuple[str, str]:
    """Alerts pile up while the referral service is down; how long until it has caught up."""
    for process in processes_of(platform, "referral"):
        process.stop()  # the outage
    references = [f"backlog-{i % args.backlog_tenancies:07d}" for i in range(args.backlog)]
    produce_seconds = await produce_alerts(settings, references)
    print(f"  backlog of {args.backlog:,} alerts produced in {produce_seconds:.0f} s", flush=True)
    restarted = time.perf_counter()
    start(platform, "referral", args.split)
    platform.wait_healthy(timeout=120)

    async def drained(group: str, topic: Topic) -> bool:
        # A laned topic is read by the group and its bulk lane (shared/lanes.py): both caught up.
        groups = [group, f"{group}.bulk"] if topic in LANED else [group]
        return all([await group_lag(settings, g, topic) == 0 for g in groups])

    ingest_done = await wait_until(
        lambda: drained("referral-arrears", Topic.ARREARS_ALERTS), timeout=7200, every=1
    )
    ingest = ingest_done - restarted
    print(f"  backlog ingested {ingest:.0f} s after restart", flush=True)
    notes_done = await wait_until(
        lambda: drained("notifications", Topic.TENANCY_RISK), timeout=7200, every=1
    )
    return (
        f"backlog of {args.backlog:,} alerts ({args.backlog_tenancies:,} tenancies)",
        f"produced in {produce_seconds:.0f} s; ingested {ingest:.0f} s after restart "
        f"({args.backlog / ingest:,.0f} alerts/s); "
        f"notifications caught up at {notes_done - restarted:.0f} s",
    )


class CostWindow:
    """Snapshots of every service's counts, the topics' offsets and the processes' CPU around
    a run of alerts (bench/cost_model.py)."""

    IDLE_SECONDS = 5.0
    QUIET_TIMEOUT = 30.0  # after the groups caught up, for the services' own work to finish

    def __init__(self, settings: HearthSettings, platform: Platform, infra: Infrastructure):
        self.settings = settings
        self.urls = {name: p.metrics_url for name, p in platform.services.items()}
        self.pids = server_pids(infra.kafka, infra.mongo_url)
        self.idle_rate = 0.0
        self.idle: tuple[Snapshot, Snapshot] | None = None
        self.before: Snapshot | None = None

    async def take(self) -> Snapshot:
        return await snapshot(self.settings, self.urls, self.pids)

    async def open(self) -> None:
        """The idle pollers' rate first (a few seconds of nothing), then the starting point."""
        first = await self.take()
        await asyncio.sleep(self.IDLE_SECONDS)
        self.before = await self.take()
        self.idle = (first, self.before)
        self.idle_rate = commands_in(first, self.before) / (self.before.at - first.at)

    async def close(self, alerts: int, timeout: float) -> tuple[list[str], float | None]:
        """Once every consumer group has caught up (the alerts' allocations and cases may
        still be on their way when the last notification record is counted) and the services
        are back to idle polling (the notification worker's sends are work the alerts caused
        too), the table, and the seconds from the first alert until every group caught up
        (None: not within `timeout`)."""
        assert self.before is not None and self.idle is not None
        started = time.perf_counter()
        behind = await lagging_groups(self.settings)
        while behind and time.perf_counter() - started < timeout:
            await asyncio.sleep(1)
            behind = await lagging_groups(self.settings)
        caught_up_after = time.perf_counter() - started
        through = None if behind else time.perf_counter() - self.before.at
        last = await self.take()
        quiet = False
        while not quiet and time.perf_counter() - started < timeout + self.QUIET_TIMEOUT:
            await asyncio.sleep(1)
            now = await self.take()
            quiet = commands_in(last, now) / (now.at - last.at) <= 2 * self.idle_rate + 5
            last = now
        if behind:
            settled = f"consumer groups still behind after {caught_up_after:.0f} s: {behind}"
        else:
            settled = f"every consumer group caught up {caught_up_after:.0f} s after the e2e count"
        after = time.perf_counter() - started
        settled += f", services quiet {after:.0f} s after it" if quiet else ", services not quiet"
        return cost_table(self.before, last, alerts, self.idle, settled), through


async def run(
    args: argparse.Namespace, infra: Infrastructure
) -> tuple[list[tuple[str, str]], list[str]]:
    identities = Identities(KeycloakAdmin(infra.keycloak_url, *infra.keycloak_admin))
    ceilings = await measure(
        kafka_options(infra), infra.mongo_url, messages=min(args.alerts * 2, 100_000), runs=1
    )
    prefix = f"b{uuid.uuid4().hex[:8]}"
    settings = bench_settings(infra, prefix)
    await ensure_topics(settings)
    log_dir = Path(tempfile.mkdtemp(prefix="hearth-bench-"))
    mail = MailSink().start()
    env = services_env(infra, prefix, HEARTH_SMTP_HOST="127.0.0.1", HEARTH_SMTP_PORT=str(mail.port))
    platform = Platform(env, log_dir, database_prefix=prefix)
    rows: list[tuple[str, str]] = []
    costs: list[str] = []
    counts = Counts(settings, prefix)
    try:
        for name in SERVICES:
            start(platform, name, args.split)
        platform.wait_healthy(timeout=120)
        set_up(platform, identities)
        city = identities.headers(Identity(CITY))
        referral_url = platform.services["referral"].url
        notifications_urls = [p.metrics_url for p in processes_of(platform, "notifications")]

        parts = set(args.parts.split(","))
        rows = [
            ("machine", machine()),
            ("ceiling: aiokafka consume->produce", f"{ceilings['relay']:,.0f} msg/s"),
            ("ceiling: aiokafka produce", f"{ceilings['produce']:,.0f} msg/s"),
            ("ceiling: PyMongo insert_many", f"{ceilings['insert']:,.0f} docs/s"),
            (
                "processes",
                f"{', '.join(SPLIT)} split (interactive + bulk)" if args.split else "one each",
            ),
        ]
        # The processes a person's referral goes through: their database commands' time.
        on_the_path = {n: platform.services[n].metrics_url for n in ("referral", "allocation")}
        if "latency" in parts:
            db_before = await asyncio.to_thread(database_times, on_the_path)
            idle = await referral_latencies(settings, referral_url, args.referrals, city)
            print(f"  referral -> CaseAllocated idle: {_latency(idle)}", flush=True)
            db_after = await asyncio.to_thread(database_times, on_the_path)
            print(f"    (database commands: {_per_command(db_before, db_after)})", flush=True)
            rows.append((f"referral -> CaseAllocated, idle (n={len(idle)})", _latency(idle)))
        if "e2e" in parts:
            window = CostWindow(settings, platform, infra)
            await window.open()
            e2e = await end_to_end_rate(
                settings, counts, notifications_urls, args.alerts, "e2e", args.timeout
            )
            costs, through = await window.close(args.alerts, args.timeout)
            rate = e2e["rate"]
            for line in handler_profile(platform, args.alerts):
                print(f"    {line}", flush=True)
            rows += [
                (
                    f"alerts end to end ({e2e['completed']:,.0f} of {args.alerts:,} done)",
                    f"{rate:,.0f} alerts/s (prevention referrals {e2e['referral_rate']:,.0f}/s, "
                    f"notification records {e2e['notification_rate']:,.0f}/s)",
                ),
                (
                    "  through every stage (allocation, case: every consumer group caught up)",
                    f"{args.alerts / through:,.0f} alerts/s ({through:.0f} s)"
                    if through
                    else f"not within {args.timeout:.0f} s",
                ),
                ("  ratio to the Kafka ceiling", f"{rate / ceilings['relay']:.1%}"),
                ("  ratio to the database ceiling", f"{rate / ceilings['insert']:.1%}"),
            ]
        if "load" in parts:
            cpu_before = await asyncio.to_thread(cpu_seconds, platform)
            waited_before = run_queue_waits(platform)
            db_before = await asyncio.to_thread(database_times, on_the_path)
            allocated_before = await counts.allocated(COUNCIL)
            batch_began = time.perf_counter()
            load = asyncio.create_task(
                end_to_end_rate(
                    settings, counts, notifications_urls, args.alerts, "load", args.timeout
                )
            )
            await asyncio.sleep(2)
            busy = await referral_latencies(settings, referral_url, args.referrals, city)
            print(f"  referral -> CaseAllocated under load: {_latency(busy)}", flush=True)
            during = os.getloadavg()[0]  # the machine's, with the batch running
            # How far the batch's own allocations had got while the samples ran: a build that
            # allocates the batch sooner puts more of its work beside the samples.
            by_samples_end = await counts.allocated(COUNCIL) - allocated_before
            await load
            in_all, last_rose = await allocations_settled(counts, COUNCIL, args.timeout)
            print(
                f"    the batch's cases allocated: {by_samples_end} as the samples ended, "
                f"{in_all - allocated_before} in all, the last "
                f"{last_rose - batch_began:.0f} s after the batch began",
                flush=True,
            )
            db_after = await asyncio.to_thread(database_times, on_the_path)
            print(f"    (database commands: {_per_command(db_before, db_after)})", flush=True)
            cpu = await asyncio.to_thread(cpu_seconds, platform)
            used = {k: cpu[k] - cpu_before[k] for k in cpu if k in cpu_before}
            waited = run_queue_waits(platform)
            print(
                "    CPU s used / s runnable but waiting for a CPU, per process, in the load "
                "part: "
                + ", ".join(
                    f"{k} {v:.1f}/{waited.get(k, 0) - waited_before.get(k, 0):.1f}"
                    for k, v in used.items()
                ),
                flush=True,
            )
            rows.append(
                (f"referral -> CaseAllocated, under an alert batch (n={len(busy)})", _latency(busy))
            )
            rows.append(("  load average (1 min) as the samples ended", f"{during:.1f}"))
        if "backlog" in parts:
            rows.append(await backlog_drain(args, settings, platform))
    finally:
        platform.stop()
        mail.stop()
        await counts.client.close()
    return rows, costs


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline")
    parser.add_argument("--alerts", type=int, default=20_000)
    parser.add_argument("--referrals", type=int, default=100)
    parser.add_argument("--backlog", type=int, default=1_000_000)
    parser.add_argument("--backlog-tenancies", type=int, default=50_000)
    parser.add_argument("--timeout", type=float, default=300, help="seconds per alert batch")
    parser.add_argument(
        "--parts", default="latency,e2e,load,backlog", help="which of latency,e2e,load,backlog"
    )
    parser.add_argument(
        "--no-split",
        dest="split",
        action="store_false",
        help="run each service as one process (HEARTH_WORKLOAD=all), as before the split",
    )
    args = parser.parse_args()
    with real_stack() as infra:
        rows, costs = asyncio.run(run(args, infra))
    print_table("Hearth pipeline beside its ceilings (one run)", rows)
    if costs:
        print()
        print("\n".join(costs))


if __name__ == "__main__":
    main()
