"""Completing a review (continue, step up, step down, change stage, close) and overriding
the two-year limit; every completion emits ReviewCompleted (its id derived from the review's),
stage changes also emit StageChanged and reschedule the review timers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from services.support.actions.closing import Closing
from services.support.actions.timers import ReviewTimers
from services.support.case import (
    OPEN,
    PENDING,
    HoursPeriodRecord,
    LimitOverrideRecord,
    Review,
    StageEntry,
    SupportCase,
    stored,
    stored_reviews,
)
from services.support.case_records import (
    case_limit,
    fact,
    new_review,
    next_review_on,
    pending_reviews,
    recorded_fact,
    restaged_reviews,
)
from services.support.dates import iso
from services.support.errors import CaseworkError, still_open, why, written
from services.support.hours_periods import with_period
from services.support.review_calendar import (
    SUPPORT_LIMIT_POINT,
    ReviewPoint,
    follow_up_point,
)
from services.support.review_weighing import Weighing, weigh_review
from services.support.schemas import ReviewCompletionIn
from services.support.stages import (
    LimitOverride,
    ReviewOutcome,
    StageError,
    check_may_continue,
    hours_for_stage,
    next_stage,
    validate_override,
)
from services.support.store import SupportStore
from shared.clock import Clock
from shared.codes import Stage
from shared.events.catalogue import ReviewCompleted, StageChanged
from shared.events.envelope import Envelope
from shared.mongo import Document


class Reviews:
    def __init__(
        self, store: SupportStore, clock: Clock, timers: ReviewTimers, closing: Closing
    ) -> None:
        self.store = store
        self.clock = clock
        self.timers = timers
        self.closing = closing

    async def complete_review(
        self, organisation: str, case_id: str, review_id: str, completion: ReviewCompletionIn
    ) -> SupportCase:
        case = still_open(await self.store.case(case_id, organisation), case_id)
        review = pending_review(case.reviews, review_id)
        weighing = weigh(review, completion)
        now = self.clock.now()
        today = now.date()
        current, new = stage_after_review(case, completion, today)
        done = completed_review(review, completion, today, weighing)
        decided = review_completed(case, done, completion.outcome)
        completed = recorded_fact(case, decided, now, review_id)
        if new is None:
            if completion.closure is None:
                raise CaseworkError(422, "closure", "required when the outcome is close")
            return await self.closing.close(
                organisation, case_id, completion.closure, completed_review=done, also=[completed]
            )
        reviews = {**case.reviews, review_id: done}
        if new == current:
            kept = with_follow_up_review(case, reviews, today)
            update = review_update(kept, None, today)
            return await self._save_review(case, review_id, update, [completed], restaged=False)
        update, changed_stage = stage_change(case, reviews, new, completion, today)
        events = [completed, fact(case, changed_stage, now)]
        return await self._save_review(case, review_id, update, events, restaged=True)

    async def _save_review(
        self,
        case: SupportCase,
        review_id: str,
        update: Document,
        events: list[Envelope],
        *,
        restaged: bool,
    ) -> SupportCase:
        """Write the change, guarded on the review still pending and the case still in the
        stage entry it was decided on (the hours periods are set whole); a new stage moves
        every review timer, otherwise the timers are only brought in line."""
        uow = self.store.unit()
        uow.change(
            self.store.repository,
            case.case_id,
            update,
            events,
            guard={
                "status": OPEN,
                "stage_seq": case.stage_seq,
                f"reviews.{review_id}.status": PENDING,
            },
        )
        updated = written(await uow.commit(), self.store.repository, case.case_id)
        if restaged:
            await self.timers.reschedule(updated)
        else:
            await self.timers.sync(updated)
        return updated

    async def record_override(
        self, organisation: str, case_id: str, extend_until: date, justification: str, by: str
    ) -> SupportCase:
        case = still_open(await self.store.case(case_id, organisation), case_id)
        today = self.clock.now().date()
        override = LimitOverride(extend_until, justification, by, today)
        limit = case_limit(case)
        try:
            validate_override(limit, override)
        except StageError as exc:
            raise CaseworkError(422, exc.field, why(exc)) from exc
        reviews = dict(case.reviews)
        for review in pending_reviews(reviews):
            if review.point == SUPPORT_LIMIT_POINT:
                reviews[review.review_id] = review.model_copy(update={"status": "superseded"})
        if case.stage is not Stage.STAGE_1 or not pending_reviews(reviews):
            point = ReviewPoint(SUPPORT_LIMIT_POINT, case.stage, extend_until)
            extra = new_review(case_id, case.stage_seq, point)
            reviews[extra.review_id] = extra
        record = LimitOverrideRecord(
            extend_until=extend_until,
            justification=justification,
            approved_by=by,
            recorded_on=today,
            previous_limit=limit,
        )
        update = {
            "$set": {
                "reviews": stored_reviews(reviews),
                "next_review_on": iso(next_review_on(reviews)),
                "support_limit_on": iso(extend_until),
            },
            "$push": {"limit_overrides": stored(record)},
        }
        # Guarded on the limit it extends: two overrides at once, one wins.
        uow = self.store.unit()
        uow.change(
            self.store.repository,
            case_id,
            update,
            guard={"status": OPEN, "support_limit_on": case.support_limit_on.isoformat()},
        )
        updated = written(await uow.commit(), self.store.repository, case_id)
        await self.timers.reschedule(updated)
        return updated


# --- the rules of completing a review (pure) ---------------------------------------------------


def pending_review(reviews: dict[str, Review], review_id: str) -> Review:
    """Only a review of this case that is still pending can be completed."""
    review = reviews.get(review_id)
    if review is None:
        raise CaseworkError(404, "review_id", f"no review {review_id!r} on this case")
    if not review.pending:
        raise CaseworkError(409, "review_id", f"review is already {review.status}")
    return review


def weigh(review: Review, completion: ReviewCompletionIn) -> Weighing:
    """The review weighed against referrals waiting (review_weighing.py); a completion the
    weighing rules out is a 422 naming the field."""
    try:
        return weigh_review(
            review.stage,
            review.weigh_against_waiting_list,
            completion.outcome,
            completion.new_needs,
            completion.waiting_list_priority,
        )
    except StageError as exc:
        raise CaseworkError(422, exc.field, why(exc)) from exc


def stage_after_review(
    case: SupportCase, completion: ReviewCompletionIn, today: date
) -> tuple[Stage, Stage | None]:
    """The case's stage and the one the outcome moves it to (None: close). Continuing past
    the support limit is a conflict (409); an impossible target stage is a 422."""
    try:
        check_may_continue(completion.outcome, today, case_limit(case))
        new = next_stage(case.stage, completion.outcome, completion.target_stage)
    except StageError as exc:
        raise CaseworkError(409 if exc.field == "outcome" else 422, exc.field, why(exc)) from exc
    return case.stage, new


def completed_review(
    review: Review, completion: ReviewCompletionIn, today: date, weighing: Weighing
) -> Review:
    """The review with what the caseworker gave (blanks keep the review's own values) and
    what weighing it against referrals waiting decided."""
    given = completion.model_dump(exclude={"closure"}, exclude_none=True)
    done = {"status": "completed", "completed_on": today, "weighing": weighing.reason}
    return Review.model_validate({**review.model_dump(), **given, **done})


def review_completed(case: SupportCase, done: Review, decision: ReviewOutcome) -> ReviewCompleted:
    """The ReviewCompleted fact: which review, when it was due and done, and the decision
    (the review's outcome: continue, step_up, step_down, change_stage or close)."""
    return ReviewCompleted(
        case_id=case.case_id,
        review_id=done.review_id,
        review_point=done.point,
        due_on=done.due_on,
        completed_on=done.completed_on or done.due_on,  # set by completed_review
        decision=decision.value,
        stage=done.stage,
    )


def with_follow_up_review(
    case: SupportCase, reviews: dict[str, Review], today: date
) -> dict[str, Review]:
    """Staying in the stage: when no review is left pending, the next one is booked."""
    if pending_reviews(reviews):
        return reviews
    follow = follow_up_point(case.stage, today, case_limit(case))
    extra = new_review(case.case_id, case.stage_seq, follow)
    return {**reviews, extra.review_id: extra}


def new_stage_fields(
    case: SupportCase, stage: Stage, completion: ReviewCompletionIn, today: date
) -> StageEntry:
    """A new stage starts today with its own sequence number and weekly hours target."""
    try:
        hours = hours_for_stage(stage, completion.target_hours_per_week, case.target_hours_per_week)
    except StageError as exc:
        raise CaseworkError(422, exc.field, why(exc)) from exc
    return StageEntry(
        stage=stage,
        stage_seq=case.stage_seq + 1,
        stage_started_on=today,
        target_hours_per_week=hours,
    )


def stage_change(
    case: SupportCase,
    reviews: dict[str, Review],
    stage: Stage,
    completion: ReviewCompletionIn,
    today: date,
) -> tuple[Document, StageChanged]:
    """Moving to another stage: its fields, its reviews in place of the old stage's pending
    ones, and the StageChanged fact."""
    entry = new_stage_fields(case, stage, completion, today)
    restaged = restaged_reviews(
        reviews,
        case.case_id,
        entry.stage_seq,
        stage,
        today,
        case.support_started_on,
        case_limit(case),
    )
    changed_stage = StageChanged(
        case_id=case.case_id,
        previous_stage=case.stage,
        stage=stage,
        target_hours_per_week=entry.target_hours_per_week,
        changed_on=today,
    )
    return review_update(restaged, entry, today, case.hours_periods), changed_stage


def review_update(
    reviews: dict[str, Review],
    entry: StageEntry | None,
    today: date,
    periods: Sequence[HoursPeriodRecord] = (),
) -> Document:
    """The case update: the reviews, the next due date and, for a new stage, its fields and
    its weekly hours from today on (`periods`: the case's periods so far)."""
    update: Document = {
        "$set": {
            **(stored(entry) if entry else {}),
            "reviews": stored_reviews(reviews),
            "next_review_on": iso(next_review_on(reviews)),
        }
    }
    if entry:
        hours = with_period(periods, today, entry.target_hours_per_week)
        update["$set"]["hours_periods"] = [stored(period) for period in hours]
    return update
