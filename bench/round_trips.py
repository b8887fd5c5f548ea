"""The round trips of one referral, referral -> CaseAllocated, and the latency over many.

    .venv/bin/python -m bench.round_trips [--referrals 50] [--counted 5] [--trace] [--background]

Against the real stack, with the referral and allocation services as their own processes
(as bench.pipeline starts them), it prints:
- per service, the database commands one referral costs (by command and collection: the
  services' own `hearth_database_command_seconds` counts on /metrics, read before and after
  each of `--counted` single referrals) and the Kafka records it adds per topic (end offsets
  before and after);
- with `--trace`, the one referral's timeline in order: every database command, broker send
  (to its acknowledgement), poll and offset commit of both services, with their times from
  the POST (bench/round_trip_probe.py, loaded into the service processes this script starts);
- the POST alone and referral -> CaseAllocated p50/p99 over `--referrals` referrals.

The outbox sweeper and the timers run every hour rather than every second here (unless
`--background`), so the counts are the path's alone: they are not on the path either way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.common import bench_settings, print_table, real_stack, services_env
from bench.pipeline import CITY, _latency, _referral, add_team, metric_totals
from devstack.identities import Identities, Identity
from devstack.keycloak_admin import KeycloakAdmin
from devstack.platform import Platform
from devstack.provision import Infrastructure
from devstack.stack import REPO_ROOT
from shared.kafka import ensure_topics, settings_security
from shared.settings import HearthSettings
from shared.topics import Topic, all_topic_names, topic_name

SERVICES = ("referral", "allocation")
ALLOCATED = b"hearth.CaseAllocated.v1"
AFTER_SEEN = 0.5  # seconds after CaseAllocated for the writes that follow it (outbox clears)
SITECUSTOMIZE = "from bench.round_trip_probe import install\ninstall()\n"

Snapshot = tuple[dict[str, Counter[str]], dict[str, Counter[str]], Counter[str]]


class AllocatedReader:
    """When each case's CaseAllocated appeared on case.events, read as a consumer would."""

    def __init__(self, settings: HearthSettings) -> None:
        self.consumer = AIOKafkaConsumer(
            topic_name(Topic.CASE_EVENTS, settings.topic_prefix),
            bootstrap_servers=settings.kafka,
            **settings_security(settings),
            group_id=None,
            auto_offset_reset="latest",
        )
        self.seen: dict[str, float] = {}
        self._waiting: dict[str, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.create_task(self._read())
        await asyncio.sleep(1)  # joined at the end of the topic

    async def _read(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=50)
            now = time.time()
            for records in batch.values():
                for record in records:
                    headers = dict(record.headers)
                    if headers.get("ce_type") == ALLOCATED:
                        case_id = headers["ce_subject"].decode()
                        self.seen.setdefault(case_id, now)
                        self._waiting.setdefault(case_id, asyncio.Event()).set()

    async def wait(self, case_id: str, timeout: float = 30) -> float:
        await asyncio.wait_for(self._waiting.setdefault(case_id, asyncio.Event()).wait(), timeout)
        return self.seen[case_id]

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self.consumer.stop()


class Offsets:
    """End offsets of the run's topics: the Kafka records a referral adds, per topic."""

    def __init__(self, settings: HearthSettings) -> None:
        self.names = all_topic_names(settings.topic_prefix)
        self.prefix = settings.topic_prefix
        self.consumer = AIOKafkaConsumer(
            *self.names, bootstrap_servers=settings.kafka, **settings_security(settings)
        )

    async def start(self) -> None:
        await self.consumer.start()

    async def ends(self) -> Counter[str]:
        partitions = [
            TopicPartition(name, p)
            for name in self.names
            for p in self.consumer.partitions_for_topic(name) or ()
        ]
        totals: Counter[str] = Counter()
        for tp, end in (await self.consumer.end_offsets(partitions)).items():
            totals[tp.topic.removeprefix(self.prefix)] += end
        return totals


def commands(platform: Platform) -> tuple[dict[str, Counter[str]], dict[str, Counter[str]]]:
    """Per service: database commands so far by 'command collection', and their seconds."""
    counts: dict[str, Counter[str]] = {}
    seconds: dict[str, Counter[str]] = {}
    for name in SERVICES:
        totals = metric_totals(
            platform.services[name].metrics_url,
            "hearth_database_command_seconds",
            ("command", "collection"),
        )
        counts[name] = Counter({k: v.get("count", 0) for k, v in totals.items()})
        seconds[name] = Counter({k: v.get("sum", 0) for k, v in totals.items()})
    return counts, seconds


async def snapshot(platform: Platform, offsets: Offsets) -> Snapshot:
    counts, seconds = await asyncio.to_thread(commands, platform)
    return counts, seconds, await offsets.ends()


def difference(before: Snapshot, after: Snapshot) -> Snapshot:
    counts = {s: after[0][s] - before[0][s] for s in SERVICES}
    seconds = {s: after[1][s] - before[1][s] for s in SERVICES}
    return counts, seconds, after[2] - before[2]


async def one_referral(
    http: httpx.AsyncClient, url: str, reader: AllocatedReader, i: int
) -> tuple[float, float, float, float]:
    """(sent, answered, allocated) wall times and the POST's ms."""
    sent = time.time()
    answer = await http.post(f"{url}/v1/referrals", json=_referral(i), timeout=30)
    answered = time.time()
    answer.raise_for_status()
    allocated = await reader.wait(answer.json()["id"])
    return sent, answered, allocated, (answered - sent) * 1000


def print_counts(diffs: list[Snapshot]) -> list[tuple[str, str]]:
    """The commands and records of single referrals (the median of each over the referrals
    counted: they should agree)."""
    rows = []
    print("\nRound trips of one referral (median over the referrals counted):", flush=True)
    for service in SERVICES:
        keys = sorted({k for d in diffs for k in d[0][service]})
        total = statistics.median(sum(d[0][service].values()) for d in diffs)
        print(f"  {service}: {total:g} database commands", flush=True)
        for key in keys:
            n = statistics.median(d[0][service][key] for d in diffs)
            ms = statistics.median(d[1][service][key] * 1000 for d in diffs)
            if n:
                print(f"    {key:<40} x{n:g}  {ms:6.1f} ms in all", flush=True)
        rows.append((f"{service}: database commands per referral", f"{total:g}"))
    topics = sorted({t for d in diffs for t in d[2]})
    records = {t: statistics.median(d[2][t] for d in diffs) for t in topics}
    print("  Kafka records per referral, by topic:", flush=True)
    for topic, n in records.items():
        if n:
            print(f"    {topic:<40} {n:g}", flush=True)
    rows.append(("Kafka records per referral", f"{sum(records.values()):g}"))
    return rows


def print_trace(directory: Path, sent: float, answered: float, allocated: float) -> None:
    lines = []
    for path in directory.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            if sent - 0.005 <= entry["start"] <= allocated + AFTER_SEEN:
                lines.append(entry)
    lines.sort(key=lambda e: e["start"])
    print("\nOne referral in order (ms from the POST; [start +duration]):", flush=True)
    marks = [(answered, "-- the POST answered"), (allocated, "-- CaseAllocated seen")]
    for entry in lines:
        while marks and marks[0][0] <= entry["start"]:
            print(f"  {(marks[0][0] - sent) * 1000:7.1f}  {marks.pop(0)[1]}", flush=True)
        at, took = (entry["start"] - sent) * 1000, (entry["end"] - entry["start"]) * 1000
        kind = entry["kind"]
        if kind == "db":
            what = f"db {entry['command']} {entry['collection']}"
            if entry["result"] != "ok":
                what += f" ({entry['result']})"
        elif kind == "publish":
            what = f"publish {entry['type']} -> {entry['topic'].split('.', 1)[-1]}"
        elif kind == "poll":
            what = "poll " + ", ".join(f"{t} x{n}" for t, n in entry["types"].items())
        else:
            what = "offset commit"
        print(f"  {at:7.1f}  {entry['service']:<10} {what:<55} +{took:.1f}", flush=True)
    for moment, label in marks:
        print(f"  {(moment - sent) * 1000:7.1f}  {label}", flush=True)


async def run(args: argparse.Namespace, infra: Infrastructure) -> list[tuple[str, str]]:
    identities = Identities(KeycloakAdmin(infra.keycloak_url, *infra.keycloak_admin))
    prefix = f"r{uuid.uuid4().hex[:8]}"
    settings = bench_settings(infra, prefix)
    await ensure_topics(settings)
    log_dir = Path(tempfile.mkdtemp(prefix="hearth-round-trips-"))
    env = services_env(infra, prefix)
    if not args.background:
        env.update(HEARTH_OUTBOX_SWEEP_SECONDS="3600", HEARTH_SCHEDULER_INTERVAL_SECONDS="3600")
    trace_dir = log_dir / "trace"
    if args.trace:
        trace_dir.mkdir()
        (log_dir / "sitecustomize.py").write_text(SITECUSTOMIZE)
        paths = [str(log_dir), str(REPO_ROOT), env.get("PYTHONPATH", "")]
        env.update(PYTHONPATH=os.pathsep.join(p for p in paths if p))
        env["HEARTH_ROUND_TRIPS_DIR"] = str(trace_dir)
    platform = Platform(env, log_dir, database_prefix=prefix)
    reader, offsets = AllocatedReader(settings), Offsets(settings)
    rows: list[tuple[str, str]] = []
    try:
        for name in SERVICES:
            platform.start_service(name)
        platform.wait_healthy(timeout=120)
        city = identities.headers(Identity(CITY))
        add_team(f"{platform.services['allocation'].url}/v1", "city", city)
        await reader.start()
        await offsets.start()
        url = platform.services["referral"].url
        async with httpx.AsyncClient(headers=city) as http:
            for i in range(args.warm_up):  # connections, caches, the first pass
                await one_referral(http, url, reader, 100_000 + i)
            await asyncio.sleep(AFTER_SEEN)
            diffs, first = [], None
            for i in range(args.counted):
                before = await snapshot(platform, offsets)
                times = await one_referral(http, url, reader, 200_000 + i)
                await asyncio.sleep(AFTER_SEEN)
                diffs.append(difference(before, await snapshot(platform, offsets)))
                first = first or times
            rows += print_counts(diffs)
            if args.trace and first:
                print_trace(trace_dir, *first[:3])
            posts, ends = [], []
            for i in range(args.referrals):
                sent, _, allocated, post_ms = await one_referral(http, url, reader, i)
                posts.append(post_ms)
                ends.append((allocated - sent) * 1000)
        rows += [
            (f"the POST alone (n={len(posts)})", _latency(posts)),
            (f"referral -> CaseAllocated, idle (n={len(ends)})", _latency(ends)),
        ]
    finally:
        await reader.stop()
        await offsets.consumer.stop()
        platform.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.round_trips")
    parser.add_argument("--referrals", type=int, default=50, help="for the latency figures")
    parser.add_argument("--counted", type=int, default=5, help="single referrals counted")
    parser.add_argument("--warm-up", type=int, default=3)
    parser.add_argument("--trace", action="store_true", help="one referral's timeline, in order")
    parser.add_argument(
        "--background", action="store_true", help="keep the sweeper and timers at their pace"
    )
    args = parser.parse_args()
    with real_stack() as infra:
        rows = asyncio.run(run(args, infra))
    print_table("One referral's round trips (referral and allocation services)", rows)


if __name__ == "__main__":
    main()
