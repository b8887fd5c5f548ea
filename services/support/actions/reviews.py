"""Completing a review (continue, step up, step down, change stage, close) and overriding
the two-year limit; stage changes emit StageChanged and reschedule the review timers."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.support.actions.closing import Closing
from services.support.actions.context import CaseworkError, SupportContext, changed, why
from services.support.actions.timers import ReviewTimers
from services.support.case_records import (
    PENDING,
    case_limit,
    next_review_on,
    pending_reviews,
    restaged_reviews,
    review_document,
)
from services.support.dates import iso
from services.support.review_calendar import (
    SUPPORT_LIMIT_POINT,
    ReviewPoint,
    follow_up_point,
)
from services.support.stages import (
    LimitOverride,
    ReviewOutcome,
    StageError,
    check_may_continue,
    hours_for_stage,
    next_stage,
    validate_override,
)
from services.support.store import OPEN
from shared.codes import Stage
from shared.events.catalogue import StageChanged
from shared.events.envelope import Envelope
from shared.mongo import Document


class Reviews:
    def __init__(self, ctx: SupportContext, timers: ReviewTimers, closing: Closing) -> None:
        self.ctx = ctx
        self.timers = timers
        self.closing = closing

    async def complete_review(
        self,
        organisation: str,
        case_id: str,
        review_id: str,
        completion: dict[str, Any],
        closure: dict[str, Any] | None,
    ) -> Document:
        case = await self.ctx.open_case(organisation, case_id)
        reviews: dict[str, Any] = case.get("reviews", {})
        review = reviews.get(review_id)
        if review is None:
            raise CaseworkError(404, "review_id", f"no review {review_id!r} on this case")
        if review["status"] != PENDING:
            raise CaseworkError(409, "review_id", f"review is already {review['status']}")
        if review["weigh_against_waiting_list"] and not completion.get("waiting_list_priority"):
            raise CaseworkError(
                422,
                "waiting_list_priority",
                "required: this review is weighed against referrals waiting",
            )
        outcome = ReviewOutcome(completion["outcome"])
        today = self.ctx.today()
        limit = case_limit(case)
        current = Stage(case["stage"])
        try:
            check_may_continue(outcome, today, limit)
            target = completion.get("target_stage")
            new = next_stage(current, outcome, Stage(target) if target else None)
        except StageError as exc:
            raise CaseworkError(
                409 if exc.field == "outcome" else 422, exc.field, why(exc)
            ) from exc
        done = {
            **review,
            **{k: v for k, v in completion.items() if v is not None},
            "status": "completed",
            "completed_on": iso(today),
        }
        if new is None:
            if closure is None:
                raise CaseworkError(422, "closure", "required when the outcome is close")
            return await self.closing.close(organisation, case_id, closure, completed_review=done)
        reviews = {**reviews, review_id: done}
        events: list[Envelope] = []
        fields: dict[str, Any] = {}
        if new == current:
            if not pending_reviews(reviews):
                follow = follow_up_point(current, today, limit)
                extra = review_document(case_id, int(case["stage_seq"]), follow)
                reviews[extra["review_id"]] = extra
        else:
            try:
                hours = hours_for_stage(
                    new, completion.get("target_hours_per_week"), case["target_hours_per_week"]
                )
            except StageError as exc:
                raise CaseworkError(422, exc.field, why(exc)) from exc
            seq = int(case["stage_seq"]) + 1
            support_start = date.fromisoformat(case["support_started_on"])
            reviews = restaged_reviews(reviews, case_id, seq, new, today, support_start, limit)
            fields = {
                "stage": new.value,
                "stage_seq": seq,
                "stage_started_on": iso(today),
                "target_hours_per_week": hours,
            }
            events.append(
                self.ctx.event(
                    case,
                    StageChanged(
                        case_id=case_id,
                        previous_stage=current,
                        stage=new,
                        target_hours_per_week=hours,
                        changed_on=today,
                    ),
                )
            )
        update: dict[str, Any] = {
            "$set": {**fields, "reviews": reviews, "next_review_on": next_review_on(reviews)}
        }
        if fields:
            update["$push"] = {
                "hours_periods": {"starts_on": iso(today), "hours": fields["target_hours_per_week"]}
            }
        guard = {"status": OPEN, f"reviews.{review_id}.status": PENDING}
        updated = await self.ctx.store.update(case_id, guard, update, events=events)
        if updated is None:
            raise changed()
        await self.ctx.flush(updated)
        if fields:
            await self.timers.reschedule(updated)
        else:
            await self.timers.sync(updated)
        return updated

    async def record_override(
        self, organisation: str, case_id: str, extend_until: date, justification: str, by: str
    ) -> Document:
        case = await self.ctx.open_case(organisation, case_id)
        today = self.ctx.today()
        override = LimitOverride(extend_until, justification, by, today)
        limit = case_limit(case)
        try:
            validate_override(limit, override)
        except StageError as exc:
            raise CaseworkError(422, exc.field, why(exc)) from exc
        reviews: dict[str, Any] = dict(case.get("reviews", {}))
        for review in pending_reviews(reviews):
            if review["point"] == SUPPORT_LIMIT_POINT:
                reviews[review["review_id"]] = {**review, "status": "superseded"}
        stage = Stage(case["stage"])
        if stage is not Stage.STAGE_1 or not pending_reviews(reviews):
            point = ReviewPoint(SUPPORT_LIMIT_POINT, stage, extend_until)
            extra = review_document(case_id, int(case["stage_seq"]), point)
            reviews[extra["review_id"]] = extra
        record = {
            "extend_until": iso(extend_until),
            "justification": justification,
            "approved_by": by,
            "recorded_on": iso(today),
            "previous_limit": iso(limit),
        }
        update = {
            "$set": {
                "reviews": reviews,
                "next_review_on": next_review_on(reviews),
                "support_limit_on": iso(extend_until),
            },
            "$push": {"limit_overrides": record},
        }
        guard = {"status": OPEN, "support_limit_on": case["support_limit_on"]}
        updated = await self.ctx.store.update(case_id, guard, update)
        if updated is None:
            raise changed()
        await self.timers.reschedule(updated)
        return updated
