"""One service process: settings, logging, broker, database, consumers, outbox relay and
scheduler wired the same way in every service. Services add handlers; this runs them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Any

from shared.auth import RecordScopeLookup
from shared.clock import Clock, clock_from_settings
from shared.consumer import EventConsumer
from shared.kafka import EventPublisher, ensure_topics, make_broker
from shared.lanes import Workload
from shared.logging import configure_logging, get_logger
from shared.mongo import Collection, make_mongo_client
from shared.outbox import OutboxRelay, ensure_outbox_index
from shared.outbox_batches import OutboxBatches
from shared.quarantine import COLLECTION as QUARANTINE
from shared.quarantine import Quarantine
from shared.redaction import safe_error
from shared.scenario_clock import ScenarioClock
from shared.settings import HearthSettings
from shared.timers import FireHandler, Scheduler, TimerStore
from shared.topics import Topic

log = get_logger(__name__)
QUARANTINE_EXPIRY_SECONDS = 3600


class ServiceRuntime:
    def __init__(
        self, settings: HearthSettings, clock: Clock | None = None, configure_logs: bool = True
    ) -> None:
        self.settings = settings
        # Refuses to start on a scenario clock in production (shared/scenario_clock.py).
        self.clock: Clock = clock or clock_from_settings(settings)
        if configure_logs:
            configure_logging(settings.service_name, settings.log_json, settings.log_level)
        self.broker = make_broker(settings)
        self.mongo = make_mongo_client(settings)
        self.db = self.mongo[settings.database_name]
        self.publisher = EventPublisher(self.broker, settings)
        self.relay = OutboxRelay(self.publisher)
        # Dead-lettered records, sealed in this service's own database (shared/quarantine.py).
        self.quarantine = Quarantine(
            self.db[QUARANTINE], settings.service_name, settings.quarantine_keys, self.clock
        )
        self.consumers: list[EventConsumer] = []
        self.schedulers: list[Scheduler] = []
        # How each kind of record this service holds is scoped to teams (shared/auth.py).
        self.record_scopes: dict[str, RecordScopeLookup] = {}
        self._startup: list[Callable[[], Awaitable[Any]]] = []
        self._shutdown: list[Callable[[], Awaitable[Any]]] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.started = False
        if isinstance(self.clock, ScenarioClock):  # on the scenario's time before serving
            self.on_startup(self.clock.start)
            self.on_shutdown(self.clock.stop)

    # --- wiring ---------------------------------------------------------------------------

    def collection(self, name: str, outbox: bool = False) -> Collection:
        """A collection this service owns; with outbox=True the relay publishes its events."""
        collection = self.db[name]
        if outbox:
            self.relay.watch(collection)
            self.on_startup(lambda: ensure_outbox_index(collection))
        return collection

    def use_outbox_batches(self) -> None:
        """Let a store insert in bulk through `relay.insert_many` (shared/outbox_batches.py);
        the relay then also sweeps the batches a crash left behind. Services that never
        insert in bulk are spared that read at every sweep."""
        if self.relay.batches is None:
            self.relay.batches = OutboxBatches(self.db["outbox_batches"])

    def consumer(
        self, topics: Iterable[Topic | str], group: str | None = None, bulk_source: bool = False
    ) -> EventConsumer:
        """A consumer group of this service. `bulk_source`: it reads a landlord's feed, so all
        its groups run in the service's bulk process (`EventConsumer.lanes_in`). Every consumer
        is built in every process (erasure purges by each one's groups); a process attaches
        only the groups of its workload."""
        consumer = EventConsumer(
            self.settings, self.broker, topics, group, self.quarantine, bulk_source
        )
        self.consumers.append(consumer)
        return consumer

    def scheduler(self, collection_name: str, handlers: dict[str, FireHandler]) -> Scheduler:
        store = TimerStore(self.db[collection_name])
        scheduler = Scheduler(store, self.clock, self.relay, handlers)
        self.on_startup(store.ensure_indexes)
        self.schedulers.append(scheduler)
        return scheduler

    def on_startup(self, hook: Callable[[], Awaitable[Any]]) -> None:
        self._startup.append(hook)

    def on_shutdown(self, hook: Callable[[], Awaitable[Any]]) -> None:
        """Run first when the service stops, while the broker and database are still open
        (work a service runs in the background, such as an upload, settles its state)."""
        self._shutdown.append(hook)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, background_loops: bool = True) -> None:
        if self.started:
            return
        await self.quarantine.start()  # no key: refuses to start, naming the setting
        await ensure_topics(self.settings, extra=[c.dlq_topic for c in self.consumers])
        for hook in self._startup:
            await hook()
        for consumer in self.consumers:
            consumer.attach()
        await self.broker.start()
        if background_loops:
            self._tasks.append(
                asyncio.create_task(self.relay.run(self._stop, self.settings.outbox_sweep_seconds))
            )
            self._tasks.append(asyncio.create_task(self._expire_quarantine()))
            # Timers are interactive work: a bulk process, at a lower CPU priority, would fire
            # them late. The relay runs in every process: each writes events to its outboxes.
            for scheduler in self.schedulers if self.runs_interactive else ():
                self._tasks.append(
                    asyncio.create_task(
                        scheduler.run(self._stop, self.settings.scheduler_interval_seconds)
                    )
                )
        self.started = True
        log.info(
            "service.started",
            workload=self.settings.workload.value,
            consumers=[group for c in self.consumers for group in c.running_groups],
        )

    @property
    def runs_interactive(self) -> bool:
        """This process serves people: the API, timers, the interactive lanes."""
        return self.settings.workload is not Workload.BULK

    async def _expire_quarantine(self) -> None:
        """Dead letters are kept for an operator, not for ever: hourly, drop the expired."""
        keep = timedelta(days=self.settings.quarantine_retention_days)
        while not self._stop.is_set():
            try:
                expired = await self.quarantine.purge_older_than(self.clock.now() - keep)
                if expired:
                    log.info("quarantine.expired", entries=expired)
            except Exception as exc:  # the next hour tries again
                log.warning("quarantine.expiry_failed", error=safe_error(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), QUARANTINE_EXPIRY_SECONDS)

    async def stop(self) -> None:
        self._stop.set()
        for hook in self._shutdown:
            await hook()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.broker.stop()
        await self.mongo.close()
        self.started = False
        log.info("service.stopped")

    async def readiness(self) -> dict[str, bool]:
        checks = {"database": False, "broker": False}
        try:
            await asyncio.wait_for(self.db.command("ping"), 2)
            checks["database"] = True
        except Exception:
            pass
        try:
            checks["broker"] = bool(await self.broker.ping(timeout=2))
        except Exception:
            pass
        return checks
