"""Closing a case: reason and tenancy outcome, the evaluation of a failed tenancy,
CaseClosed to every involved organisation, review timers cancelled."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.support.actions.timers import ReviewTimers
from services.support.case import CLOSED, OPEN, ClosureRecord, Review, SupportCase, stored
from services.support.case_records import fact, pending_reviews
from services.support.closure import (
    ClosureError,
    Evaluation,
    involved_organisations,
    tenancy_outcome,
    validate_closure,
)
from services.support.errors import CaseworkError, still_open, why, written
from services.support.schemas import ClosureIn
from services.support.store import SupportStore
from shared.clock import Clock
from shared.codes import Route
from shared.events.catalogue import CaseClosed
from shared.events.envelope import Envelope


class Closing:
    def __init__(self, store: SupportStore, clock: Clock, timers: ReviewTimers) -> None:
        self.store = store
        self.clock = clock
        self.timers = timers

    async def close(
        self,
        organisation: str,
        case_id: str,
        closure: ClosureIn,
        completed_review: Review | None = None,
        also: Sequence[Envelope] = (),
    ) -> SupportCase:
        """Close with a reason and tenancy outcome; `completed_review` when a review closes it
        (`also`: its ReviewCompleted, published before CaseClosed)."""
        case = still_open(await self.store.case(case_id, organisation), case_id)
        given = closure.evaluation
        evaluation = Evaluation(**given.model_dump()) if given else None
        has_tenancy = bool(case.tenancy_id)
        try:
            # Left out, the outcome is the one the reason and the case imply.
            outcome = tenancy_outcome(closure.reason, closure.tenancy_outcome, has_tenancy)
            validate_closure(closure.reason, outcome, evaluation, has_tenancy)
        except ClosureError as exc:
            raise CaseworkError(422, exc.field, why(exc)) from exc
        now = self.clock.now()
        data = CaseClosed(
            case_id=case_id,
            person_id=case.person_id,
            route=Route.SUPPORT,
            reason=closure.reason,
            tenancy_outcome=outcome,
            closed_at=now,
            lead_worker_id=case.lead_worker_id,
            tenancy_id=case.tenancy_id,
            involved_organisations=involved_organisations(
                case.organisation, case.referrer_organisation, case.tenancy_id, case.landlords
            ),
        )
        # Every review left pending is cancelled; the one that closes it is completed.
        reviews: dict[str, Any] = {
            f"reviews.{r.review_id}.status": "cancelled" for r in pending_reviews(case.reviews)
        }
        if completed_review is not None:
            rid = completed_review.review_id
            reviews.pop(f"reviews.{rid}.status", None)
            reviews[f"reviews.{rid}"] = stored(completed_review)
        record = ClosureRecord(
            **{**closure.model_dump(), "tenancy_outcome": outcome},
            closed_on=now.date(),
            evaluation_required=evaluation is not None,
        )
        update = {
            "$set": {
                **reviews,
                "status": CLOSED,
                "closed_at": now,
                "closure": stored(record),
                "next_review_on": None,
            }
        }
        uow = self.store.unit()
        uow.change(
            self.store.repository,
            case_id,
            update,
            [*also, fact(case, data, now)],
            guard={"status": OPEN},
        )
        closed = written(await uow.commit(), self.store.repository, case_id)
        await self.timers.cancel(case_id)
        return closed
