"""Closing a case: reason and tenancy outcome, the evaluation of a failed tenancy,
CaseClosed to every involved organisation, review timers cancelled."""

from __future__ import annotations

from typing import Any

from services.support.actions.context import CaseworkError, SupportContext, changed, why
from services.support.actions.timers import ReviewTimers
from services.support.case_records import pending_reviews
from services.support.closure import (
    ClosureError,
    Evaluation,
    involved_organisations,
    validate_closure,
)
from services.support.dates import iso
from services.support.store import CLOSED, OPEN
from shared.codes import ClosureReason, Route, TenancyOutcome
from shared.events.catalogue import CaseClosed
from shared.mongo import Document


class Closing:
    def __init__(self, ctx: SupportContext, timers: ReviewTimers) -> None:
        self.ctx = ctx
        self.timers = timers

    async def close(
        self,
        organisation: str,
        case_id: str,
        closure: dict[str, Any],
        completed_review: dict[str, Any] | None = None,
    ) -> Document:
        """Close with a reason and tenancy outcome; `completed_review` when a review closes it."""
        case = await self.ctx.open_case(organisation, case_id)
        reason = ClosureReason(closure["reason"])
        outcome = TenancyOutcome(closure["tenancy_outcome"])
        raw_evaluation = closure.get("evaluation")
        evaluation = Evaluation(**raw_evaluation) if raw_evaluation else None
        try:
            validate_closure(reason, outcome, evaluation, bool(case.get("tenancy_id")))
        except ClosureError as exc:
            raise CaseworkError(422, exc.field, why(exc)) from exc
        now = self.ctx.now()
        data = CaseClosed(
            case_id=case_id,
            person_id=case["person_id"],
            route=Route.SUPPORT,
            reason=reason,
            tenancy_outcome=outcome,
            closed_at=now,
            lead_worker_id=case["lead_worker_id"],
            tenancy_id=case.get("tenancy_id"),
            involved_organisations=involved_organisations(
                case["organisation"],
                case.get("referrer_organisation"),
                case.get("tenancy_id"),
                case.get("landlords", []),
            ),
        )
        reviews: dict[str, Any] = {
            f"reviews.{r['review_id']}.status": "cancelled"
            for r in pending_reviews(case.get("reviews", {}))
        }
        if completed_review is not None:
            rid = completed_review["review_id"]
            reviews.pop(f"reviews.{rid}.status", None)
            reviews[f"reviews.{rid}"] = completed_review
        record = {
            **closure,
            "evaluation": raw_evaluation,
            "closed_on": iso(now.date()),
            "evaluation_required": evaluation is not None,
        }
        update = {
            "$set": {
                **reviews,
                "status": CLOSED,
                "closed_at": now,
                "closure": record,
                "next_review_on": None,
            }
        }
        updated = await self.ctx.store.update(
            case_id, {"status": OPEN}, update, events=[self.ctx.event(case, data)]
        )
        if updated is None:
            raise changed()
        await self.ctx.flush(updated)
        await self.timers.timer_store.cancel_for(case_id)
        return updated
