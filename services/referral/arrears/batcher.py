"""Gathers alerts that arrive one at a time (single webhooks) into batches.

Each request hands its alert here and waits; alerts that arrive within a few milliseconds of
each other go through the pipeline together, so many concurrent webhook calls cost a handful
of round trips instead of several each. (Kafka alerts need no help: the consumer hands the
handler a whole poll at once.)
"""

from __future__ import annotations

import asyncio

from services.referral.arrears.alert import AlertSubmission
from services.referral.arrears.pipeline import AlertPipeline
from services.referral.arrears.planning import AlertResult


class AlertBatcher:
    def __init__(
        self, pipeline: AlertPipeline, max_items: int = 1000, max_wait_seconds: float = 0.005
    ) -> None:
        self.pipeline = pipeline
        self.max_items = max_items
        self.max_wait = max_wait_seconds
        self._waiting: list[tuple[AlertSubmission, asyncio.Future[AlertResult]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, sub: AlertSubmission) -> AlertResult:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AlertResult] = loop.create_future()
        self._waiting.append((sub, future))
        if len(self._waiting) >= self.max_items:
            self._dispatch()
        elif self._timer is None:
            self._timer = loop.call_later(self.max_wait, self._dispatch)
        return await future

    def _dispatch(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        items, self._waiting = self._waiting, []
        if items:
            task = asyncio.create_task(self._run(items))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, items: list[tuple[AlertSubmission, asyncio.Future[AlertResult]]]) -> None:
        try:
            results = await self.pipeline.process([sub for sub, _ in items])
        except Exception as exc:  # every waiting handler sees the failure and retries
            for _, future in items:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(items, results, strict=True):
            if not future.done():
                future.set_result(result)
