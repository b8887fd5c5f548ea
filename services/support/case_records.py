"""The case document's own shape and the pure helpers that build parts of it.

Reviews are a map keyed by review id (one review is then updated by path); dates are ISO
strings. A review id is stable: the case, the stage entry (stage_seq), the point and its date.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from services.support.dates import iso
from services.support.escalation import BASE_CONTACTS_PER_WEEK, Action
from services.support.plan import Goal, Progress
from services.support.review_calendar import ReviewPoint, review_points
from services.support.stages import LimitOverride, support_limit
from services.support.store import OPEN
from shared.codes import Route, Stage
from shared.events.catalogue import CaseAllocated
from shared.events.envelope import Envelope
from shared.ids import stable_id
from shared.mongo import Document

PENDING = "pending"


def new_case_document(envelope: Envelope, data: CaseAllocated) -> Document:
    """A case as CaseAllocated opens it, with its first stage's reviews."""
    opened_on = data.allocated_at.date()
    limit = support_limit(opened_on)
    reviews = [
        review_document(data.case_id, 1, p)
        for p in review_points(data.stage, opened_on, opened_on, limit)
    ]
    return {
        "_id": data.case_id,
        "organisation": envelope.organisation,
        "correlation_id": envelope.correlationid,
        "person_id": data.person_id,
        "route": Route.SUPPORT.value,
        "status": OPEN,
        "lead_worker_id": data.lead_worker_id,
        "lead_worker_email": data.lead_worker_email,
        "team_id": data.team_id,
        "team_leader_id": data.team_leader_id,
        "team_leader_email": data.team_leader_email,
        "crisis_worker_id": None,
        "stage": data.stage.value,
        "stage_seq": 1,
        "stage_started_on": iso(opened_on),
        "support_started_on": iso(opened_on),
        "opened_at": data.allocated_at,
        "target_hours_per_week": data.target_hours_per_week,
        "hours_periods": [{"starts_on": iso(opened_on), "hours": data.target_hours_per_week}],
        "support_needs": [n.value for n in data.support_needs],
        "tenancy_id": data.tenancy_id,
        "referrer_organisation": data.referrer_organisation,
        "landlords": [],
        "assessment": None,
        "plan": None,
        "plans_agreed": [],
        "contacts": [],
        "files": [],
        "reviews": {r["review_id"]: r for r in reviews},
        "next_review_on": min((r["due_on"] for r in reviews), default=None),
        "support_limit_on": iso(limit),
        "limit_overrides": [],
        "contact_frequency_per_week": BASE_CONTACTS_PER_WEEK,
        "escalation_rank": -1,
        "escalation": None,
        "escalations": [],
        "reallocations": [],
        "closure": None,
        "_inbox": [envelope.id],
    }


def review_document(case_id: str, stage_seq: int, point: ReviewPoint) -> dict[str, Any]:
    review_id = stable_id(case_id, str(stage_seq), point.point, point.due_on.isoformat())
    return {
        "review_id": review_id,
        "point": point.point,
        "stage": point.stage.value,
        "due_on": point.due_on.isoformat(),
        "reminder_on": point.reminder_on.isoformat(),
        "weigh_against_waiting_list": point.weigh_against_waiting_list,
        "status": PENDING,
    }


def pending_reviews(reviews: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(
        (r for r in reviews.values() if r["status"] == PENDING), key=lambda r: r["due_on"]
    )


def next_review_on(reviews: dict[str, Any]) -> str | None:
    pending = pending_reviews(reviews)
    return pending[0]["due_on"] if pending else None


def restaged_reviews(
    reviews: dict[str, Any],
    case_id: str,
    stage_seq: int,
    stage: Stage,
    today: date,
    support_started_on: date,
    limit: date,
) -> dict[str, Any]:
    """On a stage change the old stage's pending reviews are superseded by the new stage's."""
    result = {
        rid: {**r, "status": "superseded"} if r["status"] == PENDING else r
        for rid, r in reviews.items()
    }
    for point in review_points(stage, today, support_started_on, limit):
        if point.due_on > today:
            extra = review_document(case_id, stage_seq, point)
            result[extra["review_id"]] = extra
    return result


def overrides_of(case: Document) -> list[LimitOverride]:
    return [
        LimitOverride(
            extend_until=date.fromisoformat(o["extend_until"]),
            justification=o["justification"],
            approved_by=o["approved_by"],
            recorded_on=date.fromisoformat(o["recorded_on"]),
        )
        for o in case.get("limit_overrides", [])
    ]


def case_limit(case: Document) -> date:
    return support_limit(date.fromisoformat(case["support_started_on"]), overrides_of(case))


def action_record(action: Action) -> dict[str, Any]:
    record = asdict(action)
    record["due_on"] = iso(record["due_on"])
    record["progress"] = Progress.NOT_STARTED.value
    return record


def goal_record(goal: Goal, number: int) -> dict[str, Any]:
    return {
        "goal_id": f"g{number}",
        "domain": goal.domain.value,
        "goal": goal.goal,
        "actions": [
            {
                "action_id": f"g{number}a{i}",
                "description": a.description,
                "owner": a.owner.value,
                "partner_agency": a.partner_agency,
                "due_on": iso(a.due_on),
                "progress": a.progress.value,
            }
            for i, a in enumerate(goal.actions, start=1)
        ],
    }
