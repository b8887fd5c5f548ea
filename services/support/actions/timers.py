"""Review timers: both notices of every pending review scheduled, fired as ReviewDue once
(the shared scheduler's claim), rescheduled on a stage change and reconciled at start."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pymongo.errors import BulkWriteError

from services.support.case import OPEN, PENDING, SupportCase
from services.support.case_records import SOURCE, pending_reviews
from services.support.dates import start_of_day
from services.support.review_calendar import ReviewPoint, notices
from services.support.store import SupportStore
from shared.bulk import duplicate_ids
from shared.clock import Clock
from shared.codes import Route
from shared.events.catalogue import ReviewDue
from shared.events.envelope import Envelope, make_event
from shared.ids import stable_id
from shared.mongo import Document
from shared.timers import Timer, TimerRepository, TimerStore

REVIEW_TIMER = "review_notice"


class ReviewTimers:
    def __init__(self, store: SupportStore, clock: Clock, timer_store: TimerStore) -> None:
        self.store = store
        self.clock = clock
        self.timer_store = timer_store
        self._timers = TimerRepository(timer_store.collection, Timer, "timer_id")

    async def sync(self, case: SupportCase) -> None:
        """Schedule both notices of every pending review. Idempotent: a fired or cancelled
        timer is left alone, so this is safe on redelivery and at every start."""
        await self.sync_many([case])

    async def sync_many(self, cases: Iterable[SupportCase]) -> None:
        """`sync` for many cases in a few round trips."""
        today = self.clock.now().date()
        await self.timer_store.schedule_many([t for c in cases for t in timers_of(c, today)])

    async def schedule_new(self, cases: Iterable[SupportCase]) -> None:
        """`sync_many` for cases just created: their timers cannot exist yet, so they are
        inserted in one write without reading first. One that does exist (a case id opened
        again) is scheduled as `sync_many` would, leaving a fired one alone."""
        today = self.clock.now().date()
        timers = [t for c in cases for t in timers_of(c, today)]
        if not timers:
            return
        documents = [{**t.fields(), "fired": False, "_id": t.timer_id} for t in timers]
        try:
            await self.timer_store.collection.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            taken = duplicate_ids(exc)
            await self.timer_store.schedule_many([t for t in timers if t.timer_id in taken])

    async def reschedule(self, case: SupportCase) -> None:
        await self.timer_store.cancel_for(case.case_id)
        await self.sync(case)

    async def cancel(self, case_id: str) -> None:
        await self.timer_store.cancel_for(case_id)

    async def reconcile(self) -> None:
        """At start: a crash between a case update and its scheduling leaves no gap."""
        await self.sync_many(await self.store.open_cases())

    async def fire(self, document: Document) -> list[Envelope]:
        """ReviewDue for a timer, unless its review was completed, superseded or closed."""
        timer = self._timers.from_document(document)
        review_id, notice = str(timer.payload["review_id"]), str(timer.payload["notice"])
        case = await self.store.case(timer.subject)
        if case is None or not case.is_open:
            return []
        review = case.reviews.get(review_id)
        if review is None or not review.pending:
            return []
        now = self.clock.now()
        # Both replicas may get here; only one claims the timer. The mark is idempotent and
        # causes nothing (the ReviewDue goes out with the timer's claim). Guarded on the review
        # still pending: landing after the write that completed it or closed the case, it
        # would publish that write's events a second time (a unit sends what it finds queued).
        uow = self.store.unit()
        uow.change(
            self.store.repository,
            case.case_id,
            {"$set": {f"reviews.{review_id}.notified.{notice}": now.date().isoformat()}},
            guard={"status": OPEN, f"reviews.{review_id}.status": PENDING},
            idempotent=True,
        )
        await uow.commit()
        data = ReviewDue(
            case_id=case.case_id,
            review_id=review_id,
            review_point=review.point,
            due_on=review.due_on,
            notice=notice,
            lead_worker_id=case.lead_worker_id,
            stage=review.stage,
            route=Route.SUPPORT,
            weigh_against_waiting_list=review.weigh_against_waiting_list,
        )
        return [
            make_event(
                data,
                source=SOURCE,
                organisation=case.organisation,
                correlation_id=case.correlation_id,
                event_id=stable_id(timer.timer_id, "ReviewDue"),
                time=now,
            )
        ]


def timers_of(case: SupportCase, today: date) -> list[Timer]:
    """A reminder and a due notice for every pending review of an open case."""
    if not case.is_open:
        return []
    timers = []
    for review in pending_reviews(case.reviews):
        point = ReviewPoint(
            review.point, review.stage, review.due_on, review.weigh_against_waiting_list
        )
        for notice, on in notices(point, today):
            timers.append(
                Timer(
                    f"{case.case_id}|{review.review_id}|{notice}",
                    start_of_day(on),
                    REVIEW_TIMER,
                    case.case_id,
                    {"review_id": review.review_id, "notice": notice},
                )
            )
    return timers
