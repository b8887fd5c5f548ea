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
        review = pending_review(reviews, review_id)
        require_priority_when_weighed(review, completion)
        today = self.ctx.today()
        current, new = stage_after_review(case, completion, today)
        done = completed_review(review, completion, today)
        if new is None:
            if closure is None:
                raise CaseworkError(422, "closure", "required when the outcome is close")
            return await self.closing.close(organisation, case_id, closure, completed_review=done)
        reviews = {**reviews, review_id: done}
        if new == current:
            kept = with_follow_up_review(case, reviews, today)
            return await self._save_review(case_id, review_id, review_update(kept, {}, today), [])
        update, changed_stage = stage_change(case, reviews, new, completion, today)
        event = self.ctx.event(case, changed_stage)
        return await self._save_review(case_id, review_id, update, [event])

    async def _save_review(
        self, case_id: str, review_id: str, update: dict[str, Any], events: list[Envelope]
    ) -> Document:
        """Write the change, guarded on the review still pending; a new stage (events) moves
        every review timer, otherwise the timers are only brought in line with the reviews."""
        guard = {"status": OPEN, f"reviews.{review_id}.status": PENDING}
        updated = await self.ctx.store.update(case_id, guard, update, events=events)
        if updated is None:
            raise changed()
        await self.ctx.flush(updated)
        if events:
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


# --- the rules of completing a review (pure) ---------------------------------------------------


def pending_review(reviews: dict[str, Any], review_id: str) -> dict[str, Any]:
    """Only a review of this case that is still pending can be completed."""
    review = reviews.get(review_id)
    if review is None:
        raise CaseworkError(404, "review_id", f"no review {review_id!r} on this case")
    if review["status"] != PENDING:
        raise CaseworkError(409, "review_id", f"review is already {review['status']}")
    return review


def require_priority_when_weighed(review: dict[str, Any], completion: dict[str, Any]) -> None:
    """A review weighed against the waiting list must say how the case ranks against it."""
    if review["weigh_against_waiting_list"] and not completion.get("waiting_list_priority"):
        raise CaseworkError(
            422,
            "waiting_list_priority",
            "required: this review is weighed against referrals waiting",
        )


def stage_after_review(
    case: Document, completion: dict[str, Any], today: date
) -> tuple[Stage, Stage | None]:
    """The case's stage and the one the outcome moves it to (None: close). Continuing past
    the support limit is a conflict (409); an impossible target stage is a 422."""
    outcome = ReviewOutcome(completion["outcome"])
    current = Stage(case["stage"])
    try:
        check_may_continue(outcome, today, case_limit(case))
        target = completion.get("target_stage")
        new = next_stage(current, outcome, Stage(target) if target else None)
    except StageError as exc:
        raise CaseworkError(409 if exc.field == "outcome" else 422, exc.field, why(exc)) from exc
    return current, new


def completed_review(
    review: dict[str, Any], completion: dict[str, Any], today: date
) -> dict[str, Any]:
    """The review with what the caseworker gave (blanks keep the review's own values)."""
    given = {k: v for k, v in completion.items() if v is not None}
    return {**review, **given, "status": "completed", "completed_on": iso(today)}


def with_follow_up_review(case: Document, reviews: dict[str, Any], today: date) -> dict[str, Any]:
    """Staying in the stage: when no review is left pending, the next one is booked."""
    if pending_reviews(reviews):
        return reviews
    stage = Stage(case["stage"])
    follow = follow_up_point(stage, today, case_limit(case))
    extra = review_document(case["_id"], int(case["stage_seq"]), follow)
    return {**reviews, extra["review_id"]: extra}


def new_stage_fields(
    case: Document, stage: Stage, completion: dict[str, Any], today: date
) -> dict[str, Any]:
    """A new stage starts today with its own sequence number and weekly hours target."""
    try:
        hours = hours_for_stage(
            stage, completion.get("target_hours_per_week"), case["target_hours_per_week"]
        )
    except StageError as exc:
        raise CaseworkError(422, exc.field, why(exc)) from exc
    return {
        "stage": stage.value,
        "stage_seq": int(case["stage_seq"]) + 1,
        "stage_started_on": iso(today),
        "target_hours_per_week": hours,
    }


def stage_change(
    case: Document,
    reviews: dict[str, Any],
    stage: Stage,
    completion: dict[str, Any],
    today: date,
) -> tuple[dict[str, Any], StageChanged]:
    """Moving to another stage: its fields, its reviews in place of the old stage's pending
    ones, and the StageChanged fact."""
    fields = new_stage_fields(case, stage, completion, today)
    support_start = date.fromisoformat(case["support_started_on"])
    restaged = restaged_reviews(
        reviews, case["_id"], fields["stage_seq"], stage, today, support_start, case_limit(case)
    )
    changed_stage = StageChanged(
        case_id=case["_id"],
        previous_stage=Stage(case["stage"]),
        stage=stage,
        target_hours_per_week=fields["target_hours_per_week"],
        changed_on=today,
    )
    return review_update(restaged, fields, today), changed_stage


def review_update(reviews: dict[str, Any], fields: dict[str, Any], today: date) -> dict[str, Any]:
    """The case update: the reviews, the next due date and, for a new stage, its fields and
    a new period of weekly hours starting today."""
    update: dict[str, Any] = {
        "$set": {**fields, "reviews": reviews, "next_review_on": next_review_on(reviews)}
    }
    if fields:
        update["$push"] = {
            "hours_periods": {"starts_on": iso(today), "hours": fields["target_hours_per_week"]}
        }
    return update
