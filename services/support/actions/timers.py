"""Review timers: both notices of every pending review scheduled, fired as ReviewDue once
(the shared scheduler's claim), rescheduled on a stage change and reconciled at start."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from services.support.actions.context import SOURCE, SupportContext
from services.support.case_records import PENDING, pending_reviews
from services.support.dates import iso, start_of_day
from services.support.review_calendar import ReviewPoint, notices
from services.support.store import OPEN
from shared.codes import Route, Stage
from shared.events.catalogue import ReviewDue
from shared.events.envelope import Envelope, make_event
from shared.ids import stable_id
from shared.mongo import Document
from shared.timers import Timer, TimerStore

REVIEW_TIMER = "review_notice"


class ReviewTimers:
    def __init__(self, ctx: SupportContext, timer_store: TimerStore) -> None:
        self.ctx = ctx
        self.timer_store = timer_store

    async def sync(self, case: Document) -> None:
        """Schedule both notices of every pending review. Idempotent: a fired or cancelled
        timer is left alone, so this is safe on redelivery and at every start."""
        await self.sync_many([case])

    async def sync_many(self, cases: Iterable[Document]) -> None:
        """`sync` for many cases in a few round trips."""
        await self.timer_store.schedule_many([t for case in cases for t in self.timers_of(case)])

    def timers_of(self, case: Document) -> list[Timer]:
        if case["status"] != OPEN:
            return []
        today = self.ctx.today()
        timers = []
        for review in pending_reviews(case.get("reviews", {})):
            point = ReviewPoint(
                review["point"],
                Stage(review["stage"]),
                date.fromisoformat(review["due_on"]),
                review["weigh_against_waiting_list"],
            )
            for notice, on in notices(point, today):
                timers.append(
                    Timer(
                        f"{case['_id']}|{review['review_id']}|{notice}",
                        start_of_day(on),
                        REVIEW_TIMER,
                        case["_id"],
                        {"review_id": review["review_id"], "notice": notice},
                    )
                )
        return timers

    async def reschedule(self, case: Document) -> None:
        await self.timer_store.cancel_for(case["_id"])
        await self.sync(case)

    async def reconcile(self) -> None:
        """At start: a crash between a case update and its scheduling leaves no gap."""
        await self.sync_many(await self.ctx.store.open_cases())

    async def fire(self, timer: Document) -> list[Envelope]:
        """ReviewDue for a timer, unless its review was completed, superseded or closed."""
        case = await self.ctx.store.get(timer["subject"])
        review_id, notice = timer["payload"]["review_id"], timer["payload"]["notice"]
        if case is None or case["status"] != OPEN:
            return []
        review = case.get("reviews", {}).get(review_id)
        if review is None or review["status"] != PENDING:
            return []
        # Both replicas may get here; only one claims the timer. The mark is idempotent.
        await self.ctx.store.mark_notified(case["_id"], review_id, notice, iso(self.ctx.today()))
        data = ReviewDue(
            case_id=case["_id"],
            review_id=review_id,
            review_point=review["point"],
            due_on=date.fromisoformat(review["due_on"]),
            notice=notice,
            lead_worker_id=case["lead_worker_id"],
            stage=Stage(review["stage"]),
            route=Route.SUPPORT,
            weigh_against_waiting_list=review["weigh_against_waiting_list"],
        )
        return [
            make_event(
                data,
                source=SOURCE,
                organisation=case["organisation"],
                correlation_id=case.get("correlation_id"),
                event_id=stable_id(timer["_id"], "ReviewDue"),
                time=self.ctx.now(),
            )
        ]
