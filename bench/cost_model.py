"""The cost model of a benchmark window: what each alert cost each process, printed as a table.

Snapshots taken before and after a run, their differences divided by the alerts:
- database commands per alert, per service and by (command, collection): the counts of each
  service's `hearth_database_command_seconds` histogram on its /metrics;
- documents written per alert (inserted, updated, deleted), as the database's replies counted
  them (`hearth_database_documents_written_total`, shared/database_metrics.py);
- Kafka records per alert per topic of the run: the topics' end offsets;
- CPU seconds per 1,000 alerts per process: each service's `process_cpu_seconds_total`, the
  database's and the broker's from /proc/<pid>/stat (the processes listening on their ports),
  and the benchmark's own (it produces the alerts).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from shared.kafka import settings_security
from shared.settings import HearthSettings
from shared.topics import Topic, topic_name

Key = tuple[str, str]  # (command, collection)
INSERTED, UPDATED, DELETED = "ins", "upd", "del"
METADATA_ATTEMPTS = 5
UNKNOWN_TOPIC = 3  # UNKNOWN_TOPIC_OR_PARTITION: a platform topic this run never created
_WRITE_KIND = {"insert": INSERTED, "update": UPDATED, "findAndModify": UPDATED, "delete": DELETED}


@dataclass
class ServiceCounts:
    commands: dict[Key, float] = field(default_factory=dict)
    written: dict[Key, float] = field(default_factory=dict)
    cpu_seconds: float | None = None

    def minus(self, before: ServiceCounts) -> ServiceCounts:
        return ServiceCounts(
            _minus(self.commands, before.commands),
            _minus(self.written, before.written),
            None
            if self.cpu_seconds is None or before.cpu_seconds is None
            else self.cpu_seconds - before.cpu_seconds,
        )


@dataclass
class Snapshot:
    at: float
    services: dict[str, ServiceCounts]
    offsets: dict[str, int]  # topic (without the run's prefix) -> records ever written
    servers: dict[str, float | None]  # database / broker process -> CPU seconds
    own_cpu: float


def _minus(after: dict[Key, float], before: dict[Key, float]) -> dict[Key, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0)}


def scrape(url: str) -> ServiceCounts:
    """One service's counts from its /metrics."""
    counts = ServiceCounts()
    for family in text_string_to_metric_families(httpx.get(url, timeout=10).text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "hearth_database_command_seconds_count":
                key = (labels["command"], labels["collection"])
                counts.commands[key] = counts.commands.get(key, 0.0) + sample.value
            elif sample.name == "hearth_database_documents_written_total":
                key = (labels["command"], labels["collection"])
                counts.written[key] = counts.written.get(key, 0.0) + sample.value
            elif sample.name == "process_cpu_seconds_total":
                counts.cpu_seconds = sample.value
    return counts


# --- the database's and the broker's processes -------------------------------------------------


def listening_pid(port: int) -> int | None:
    """The process listening on a local TCP port, found through /proc (Linux; None elsewhere
    or when it is not ours to read)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local, state, inode = parts[1], parts[3], parts[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{inode}]")
    if not inodes:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(entry.name)
        except OSError:
            continue
    return None


def process_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a process so far (/proc/<pid>/stat), None if unreadable."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def port_of(address: str) -> int | None:
    """The port of `host:port` or `mongodb://host:port/...` (the first server named)."""
    rest = address.split("://", 1)[-1].split("/", 1)[0].split(",", 1)[0]
    rest = rest.rsplit("@", 1)[-1]
    try:
        return int(rest.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def server_pids(kafka: str, mongo_url: str) -> dict[str, int | None]:
    """The broker's and the database's processes, if they run on this machine."""
    pids: dict[str, int | None] = {}
    for name, address in (("FerretDB", mongo_url), ("Kafka", kafka)):
        port = port_of(address)
        pids[name] = listening_pid(port) if port else None
    return pids


# --- Kafka ------------------------------------------------------------------------------------


async def topic_end_offsets(settings: HearthSettings) -> dict[str, int]:
    """Records ever written to each topic of the run (its prefix), summed over partitions."""
    security = settings_security(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka, **security)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka, **security)
    await admin.start()
    await consumer.start()
    try:
        prefix = settings.topic_prefix
        names = {t for t in await admin.list_topics() if t.startswith(prefix)}
        names |= {topic_name(t, prefix) for t in Topic}  # the platform's, even if unlisted
        partitions: list[TopicPartition] = []
        for _ in range(METADATA_ATTEMPTS):  # a topic's metadata may be briefly unavailable
            described = await admin.describe_topics(sorted(names))
            known = [t for t in described if not t["error_code"] and t["partitions"]]
            partitions += [
                TopicPartition(t["topic"], p["partition"]) for t in known for p in t["partitions"]
            ]
            names -= {t["topic"] for t in known}
            missing = {t["topic"] for t in described if t["error_code"] != UNKNOWN_TOPIC}
            names &= missing
            if not names:
                break
            await asyncio.sleep(0.5)
        ends = await consumer.end_offsets(partitions) if partitions else {}
        totals: dict[str, int] = defaultdict(int)
        for tp, end in ends.items():
            totals[tp.topic[len(prefix) :]] += end
        return dict(totals)
    finally:
        await consumer.stop()
        await admin.close()


async def lagging_groups(settings: HearthSettings) -> dict[str, int]:
    """The consumer groups of the run (its prefix) that have not committed the end of every
    partition they read, with how many records they are behind."""
    security = settings_security(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka, **security)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka, **security)
    await admin.start()
    await consumer.start()
    try:
        listed = await admin.list_consumer_groups()
        groups = [g[0] for g in listed if g[0].startswith(settings.topic_prefix)]
        behind: dict[str, int] = {}
        for group in groups:
            committed = await admin.list_consumer_group_offsets(group)
            ends = await consumer.end_offsets(list(committed)) if committed else {}
            lag = sum(
                max(0, ends[tp] - meta.offset) for tp, meta in committed.items() if meta.offset >= 0
            )
            if lag:
                behind[group[len(settings.topic_prefix) :]] = lag
        return behind
    finally:
        await consumer.stop()
        await admin.close()


# --- snapshots and the table ------------------------------------------------------------------


async def snapshot(
    settings: HearthSettings, metrics_urls: dict[str, str], pids: dict[str, int | None]
) -> Snapshot:
    services = {name: await asyncio.to_thread(scrape, url) for name, url in metrics_urls.items()}
    return Snapshot(
        at=time.perf_counter(),
        services=services,
        offsets=await topic_end_offsets(settings),
        servers={name: process_cpu_seconds(pid) for name, pid in pids.items()},
        own_cpu=time.process_time(),
    )


def commands_in(before: Snapshot, after: Snapshot) -> float:
    return sum(
        sum(after.services[n].minus(before.services[n]).commands.values()) for n in after.services
    )


def _written_split(written: dict[Key, float]) -> dict[str, float]:
    split = {INSERTED: 0.0, UPDATED: 0.0, DELETED: 0.0}
    for (command, _collection), n in written.items():
        split[_WRITE_KIND.get(command, UPDATED)] += n
    return split


def _cpu(seconds: float | None, alerts: int) -> str:
    return "n/a" if seconds is None else f"{seconds / alerts * 1000:.2f}"


def idle_commands(idle: tuple[Snapshot, Snapshot], name: str) -> dict[Key, float]:
    """A service's commands per second while nothing was sent to it (its pollers)."""
    first, second = idle
    seconds = second.at - first.at
    delta = second.services[name].minus(first.services[name]).commands
    return {key: n / seconds for key, n in delta.items()}


def cost_table(
    before: Snapshot,
    after: Snapshot,
    alerts: int,
    idle: tuple[Snapshot, Snapshot],
    settled: str = "",
) -> list[str]:
    """The cost model as lines of text: per process, then the detail behind it. `idle`: two
    snapshots with nothing sent between them, for the commands the services' pollers issue
    anyway (counted in the figures, and shown beside them as "idle")."""
    window = after.at - before.at
    idle_total = sum(sum(idle_commands(idle, n).values()) for n in after.services)
    lines = [
        f"Cost model per alert ({alerts:,} alerts, a window of {window:.1f} s: {settled}; "
        f"idle pollers issue {idle_total:.1f} db commands/s across the services: included, "
        "and shown as 'idle')",
        f"  {'process':<26}{'db cmds/alert':>14}{'(idle)':>8}{'docs written/alert':>20}"
        f"{'  (ins + upd + del)':<26}{'CPU s/1k alerts':>16}",
    ]
    total_commands = total_written = total_idle = 0.0
    detail: list[str] = []
    for name in after.services:
        delta = after.services[name].minus(before.services[name])
        polling = {k: rate * window / alerts for k, rate in idle_commands(idle, name).items()}
        commands = sum(delta.commands.values()) / alerts
        split = {k: v / alerts for k, v in _written_split(delta.written).items()}
        written = sum(split.values())
        total_commands += commands
        total_written += written
        total_idle += sum(polling.values())
        parts = f"  ({split[INSERTED]:.2f} + {split[UPDATED]:.2f} + {split[DELETED]:.2f})"
        lines.append(
            f"  {name:<26}{commands:>14.2f}{sum(polling.values()):>8.2f}{written:>20.2f}"
            f"{parts:<26}{_cpu(delta.cpu_seconds, alerts):>16}"
        )
        for key, n in sorted(delta.commands.items(), key=lambda kv: -kv[1]):
            if n / alerts >= 0.005:
                docs = delta.written.get(key, 0.0) / alerts
                wrote = f", {docs:.2f} docs written" if docs else ""
                anyway = polling.get(key, 0.0)
                wrote += f" (idle {anyway:.2f})" if anyway >= 0.005 else ""
                detail.append(f"    {name:<15}{key[0]:<14}{key[1]:<28}{n / alerts:>7.2f}{wrote}")
    for name, cpu_after in after.servers.items():
        cpu_before = before.servers.get(name)
        seconds = None if cpu_after is None or cpu_before is None else cpu_after - cpu_before
        shown = "n/a (not found here)" if seconds is None else _cpu(seconds, alerts)
        lines.append(f"  {name + ' (shared server)':<26}{'':>42}{'':<26}{shown:>16}")
    own = _cpu(after.own_cpu - before.own_cpu, alerts)
    lines.append(f"  {'bench (producer, pollers)':<26}{'':>42}{'':<26}{own:>16}")
    lines.append(
        f"  {'services in all':<26}{total_commands:>14.2f}{total_idle:>8.2f}{total_written:>20.2f}"
    )
    lines.append("  database commands per alert by service, command and collection (>= 0.005):")
    lines += detail
    lines.append("  Kafka records per alert by topic:")
    records = _minus_offsets(after.offsets, before.offsets)
    for topic, n in sorted(records.items(), key=lambda kv: -kv[1]):
        lines.append(f"    {topic:<57}{n / alerts:>7.2f}")
    lines.append(f"    {'in all':<57}{sum(records.values()) / alerts:>7.2f}")
    return lines


def _minus_offsets(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {t: n - before.get(t, 0) for t, n in after.items() if n - before.get(t, 0)}
