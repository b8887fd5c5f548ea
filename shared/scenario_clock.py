"""A scenario clock every service shares, for deployments that are not production.

Acceptance and training need time: a local-connection test "as of" a given day, a review that
comes due at twelve weeks, Tool 4's branches months after a reconnection. With
`HEARTH_SCENARIO_CLOCK=true` (and `HEARTH_ENVIRONMENT` anything but `production`), every
service's runtime follows one clock on the platform's spine:

- the `platform.clock` topic (one partition, compacted, key `clock`) holds `ScenarioClockSet`
  events: "from real time `set_at`, the scenario's time is `at`";
- each process reads the topic from its start before it serves (so it starts on the
  scenario's time) and keeps following it: time runs on from the chosen moment, timers fire
  as it passes, and the newest event wins (a reset says `at == set_at`);
- `python -m shared.scenario_clock set 2026-06-01 [--reason ...]`, `... advance 84d` and
  `... reset` publish one (as the admin principal; `show` prints the clock);
- in production it is impossible: a runtime with a scenario clock (or an offset file) refuses
  to start, the command refuses, and rule endpoints refuse `?as_of=` (shared/as_of.py).

Tests keep passing a `ManualClock`; `OffsetFileClock` (shared/clock.py) remains for the
end-to-end tests' processes, under the same production refusal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
from datetime import UTC, date, datetime, time, timedelta
from typing import ClassVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from pydantic import Field

from shared.clock import Clock, SystemClock
from shared.events.base import EventData
from shared.events.envelope import EnvelopeError, from_kafka, make_event, to_kafka
from shared.kafka import settings_security
from shared.logging import get_logger
from shared.redaction import safe_error
from shared.settings import HearthSettings, get_settings
from shared.topics import SCENARIO_CLOCK

log = get_logger(__name__)

CLOCK_TOPIC = SCENARIO_CLOCK
CLOCK_KEY = "clock"
SOURCE = "hearth/scenario-clock"
PRODUCTION = "production"
# A scenario runs within ten years of the real date: enough for any rule, and a typo (2062
# for 2026) is refused rather than followed.
REACH = timedelta(days=3653)


class ScenarioClockRefused(RuntimeError):
    """A scenario clock asked for where it may not run; the message names the setting."""


class ScenarioClockSet(EventData):
    """From real time `set_at` on, the scenario's time is `at` plus the real time passed."""

    TYPE: ClassVar[str] = "ScenarioClockSet"
    TOPIC: ClassVar[str] = CLOCK_TOPIC

    at: datetime = Field(description="the scenario's time at the moment it was set")
    set_at: datetime = Field(description="the real time it was set")
    set_by: str = Field("", max_length=200, description="who set it (an operator, a test)")
    reason: str = Field("", max_length=500, description="the scenario, in a few words")

    def subject(self) -> str:
        return CLOCK_KEY

    @property
    def offset(self) -> timedelta:
        return self.at - self.set_at


def clock_topic(prefix: str) -> str:
    return f"{prefix}{CLOCK_TOPIC}"


def scenario_refusal(settings: HearthSettings, what: str) -> str | None:
    """Why `what` (a setting or a parameter that moves time) may not be used here; None: it
    may. Production never moves time."""
    if settings.environment == PRODUCTION:
        return f"{what}: time cannot be moved in production (HEARTH_ENVIRONMENT=production)"
    return None


def refuse_in_production(settings: HearthSettings) -> None:
    """Startup's check: a production deployment with a scenario clock does not start."""
    for name, on in (
        ("HEARTH_SCENARIO_CLOCK", settings.scenario_clock),
        ("HEARTH_CLOCK_OFFSET_FILE", bool(settings.clock_offset_file)),
    ):
        refusal = scenario_refusal(settings, name) if on else None
        if refusal:
            raise ScenarioClockRefused(refusal)


def within_reach(moment: datetime, real: datetime) -> datetime:
    """`moment` if a scenario may be set there; ValueError naming `at` otherwise."""
    if moment.tzinfo is None:
        raise ValueError("at: give a time zone (or a date, read as 09:00 UTC)")
    if abs(moment - real) > REACH:
        raise ValueError("at: a scenario must be within ten years of the real date")
    return moment


class ScenarioClock:
    """Real time moved by the offset the clock topic last set: one shared time for every
    process that follows the topic. Until an event is read it is real time."""

    def __init__(self, settings: HearthSettings, base: Clock | None = None) -> None:
        self.settings = settings
        self.base = base or SystemClock()
        self.topic = clock_topic(settings.topic_prefix)
        self.last: ScenarioClockSet | None = None
        self._offset = timedelta(0)
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    def now(self) -> datetime:
        return self.base.now() + self._offset

    def apply(self, event: ScenarioClockSet) -> None:
        self.last = event
        self._offset = event.offset
        log.info("scenario_clock.set", at=event.at.isoformat(), reason=event.reason)

    async def start(self) -> None:
        """Read the topic to its end (the service starts on the scenario's time), then keep
        following it in the background."""
        if self._consumer is not None:
            return
        await ensure_clock_topic(self.settings)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka,
            group_id=None,  # every process reads every event: no group splits them
            enable_auto_commit=False,
            client_id=f"hearth-{self.settings.service_name}-clock",
            **settings_security(self.settings),
        )
        await consumer.start()
        partition = TopicPartition(self.topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        self._consumer = consumer
        end = (await consumer.end_offsets([partition]))[partition]
        while await consumer.position(partition) < end:
            await self._read(200)
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def _follow(self) -> None:
        while True:
            try:
                await self._read(1000)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker may be away: keep the last time, try again
                log.warning("scenario_clock.follow_failed", error=safe_error(exc))
                await asyncio.sleep(1)

    async def _read(self, timeout_ms: int) -> None:
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=timeout_ms)
        for records in batches.values():
            for record in records:
                try:
                    envelope = from_kafka(record.key, record.value, record.headers)
                    data = envelope.payload()
                except EnvelopeError as exc:
                    log.warning("scenario_clock.unreadable", error=str(exc))
                    continue
                if isinstance(data, ScenarioClockSet):
                    self.apply(data)


async def ensure_clock_topic(settings: HearthSettings) -> None:
    """The clock topic: one partition (one order for every reader), compacted on its one key
    (the newest setting is all a starting process needs)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka, **settings_security(settings))
    await admin.start()
    try:
        name = clock_topic(settings.topic_prefix)
        if name not in set(await admin.list_topics()):
            topic = NewTopic(name, 1, 1, topic_configs={"cleanup.policy": "compact"})
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([topic])
    finally:
        await admin.close()


async def set_scenario_clock(
    settings: HearthSettings,
    at: datetime,
    *,
    set_by: str = "",
    reason: str = "",
    real: Clock | None = None,
) -> ScenarioClockSet:
    """Publish the scenario's time `at` for every following service; refused in production."""
    refusal = scenario_refusal(settings, "scenario clock")
    if refusal:
        raise ScenarioClockRefused(refusal)
    set_at = (real or SystemClock()).now()
    data = ScenarioClockSet(
        at=within_reach(at, set_at), set_at=set_at, set_by=set_by, reason=reason
    )
    await ensure_clock_topic(settings)
    envelope = make_event(data, source=SOURCE, organisation="platform", time=set_at)
    key, value, headers = to_kafka(envelope)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka, acks="all", **settings_security(settings)
    )
    await producer.start()
    try:
        await producer.send_and_wait(
            clock_topic(settings.topic_prefix),
            value,
            key=key,
            headers=[(name, text.encode()) for name, text in headers.items()],
        )
    finally:
        await producer.stop()
    return data


async def current(settings: HearthSettings) -> ScenarioClock:
    """The clock as the topic sets it now (read once, not followed)."""
    clock = ScenarioClock(settings)
    await clock.start()
    await clock.stop()
    return clock


# --- the command ------------------------------------------------------------------------------

DURATION = re.compile(r"^(-?\d+)([dwh])$")
UNITS = {"d": timedelta(days=1), "w": timedelta(weeks=1), "h": timedelta(hours=1)}


def parse_moment(text: str) -> datetime:
    """`2026-06-01` (09:00 UTC, a working morning) or an ISO time with its zone."""
    try:
        return datetime.combine(date.fromisoformat(text), time(9, 0), UTC)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"at: {text!r} is not a date (2026-06-01) or an ISO time") from exc


def parse_duration(text: str) -> timedelta:
    """`84d`, `12w`, `-3h`."""
    match = DURATION.match(text)
    if match is None:
        raise ValueError(f"by: {text!r} is not a duration such as 84d, 12w or 6h")
    return int(match.group(1)) * UNITS[match.group(2)]


async def _command(args: argparse.Namespace, settings: HearthSettings) -> str:
    refusal = scenario_refusal(settings, "scenario clock")
    if refusal:  # not even read: the topic is never made in production
        raise ScenarioClockRefused(refusal)
    if args.action == "show":
        clock = await current(settings)
        said = f" ({clock.last.reason})" if clock.last and clock.last.reason else ""
        return f"scenario time {clock.now().isoformat(timespec='seconds')}{said}"
    if args.action == "set":
        at = parse_moment(args.value)
    elif args.action == "advance":
        at = (await current(settings)).now() + parse_duration(args.value)
    else:  # reset
        at = SystemClock().now()
    data = await set_scenario_clock(settings, at, set_by=args.by, reason=args.reason)
    return f"scenario time set to {data.at.isoformat(timespec='seconds')}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.scenario_clock",
        description="Set the time every service of a non-production platform follows.",
    )
    parser.add_argument("action", choices=["show", "set", "advance", "reset"])
    parser.add_argument("value", nargs="?", default="", help="set: 2026-06-01; advance: 84d")
    parser.add_argument("--reason", default="", help="the scenario, in a few words")
    parser.add_argument("--by", default="operator", help="who sets it")
    args = parser.parse_args(argv)
    if args.action in ("set", "advance") and not args.value:
        parser.error(f"{args.action} needs a value")
    try:
        print(asyncio.run(_command(args, get_settings())))
    except (ScenarioClockRefused, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
