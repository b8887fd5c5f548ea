"""Pure helpers that build a case and its parts (case.py) and the events a person's action
on a case causes.

A review id is stable: the case, the stage entry (stage_seq), the point and its date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime

from services.support.case import (
    PENDING,
    EscalationAction,
    HoursPeriodRecord,
    PlanActionRecord,
    PlanGoal,
    Review,
    SupportCase,
)
from services.support.escalation import BASE_CONTACTS_PER_WEEK, Action
from services.support.plan import Goal, Progress
from services.support.review_calendar import ReviewPoint, points_taken_over, review_points
from services.support.stages import LimitOverride, support_limit
from shared.codes import Route, Stage, SupportNeed
from shared.events.base import EventData
from shared.events.catalogue import CaseAllocated
from shared.events.envelope import Envelope, make_event
from shared.ids import stable_id

SOURCE = "support"


def new_case(envelope: Envelope, data: CaseAllocated) -> SupportCase:
    """A case as CaseAllocated opens it, with its first stage's reviews."""
    opened_on = data.allocated_at.date()
    limit = support_limit(opened_on)
    reviews = [
        new_review(data.case_id, 1, p)
        for p in review_points(data.stage, opened_on, opened_on, limit)
    ]
    return SupportCase(
        case_id=data.case_id,
        organisation=envelope.organisation,
        correlation_id=envelope.correlationid,
        person_id=data.person_id,
        route=Route.SUPPORT,
        lead_worker_id=data.lead_worker_id,
        lead_worker_email=data.lead_worker_email,
        team_id=data.team_id,
        team_leader_id=data.team_leader_id,
        team_leader_email=data.team_leader_email,
        stage=data.stage,
        stage_seq=1,
        stage_started_on=opened_on,
        support_started_on=opened_on,
        opened_at=data.allocated_at,
        target_hours_per_week=data.target_hours_per_week,
        hours_periods=[HoursPeriodRecord(starts_on=opened_on, hours=data.target_hours_per_week)],
        support_needs=data.support_needs,
        tenancy_id=data.tenancy_id,
        referrer_organisation=data.referrer_organisation,
        reviews={r.review_id: r for r in reviews},
        next_review_on=min((r.due_on for r in reviews), default=None),
        support_limit_on=limit,
        contact_frequency_per_week=BASE_CONTACTS_PER_WEEK,
    )


@dataclass(frozen=True)
class TakenOver:
    """A case that began before Hearth, opened at its stage from the day that stage began."""

    case_id: str
    organisation: str
    person_id: str
    stage: Stage
    started_on: date
    support_started_on: date
    target_hours_per_week: float
    lead_worker_id: str
    team_id: str
    team_leader_id: str | None = None
    support_needs: tuple[SupportNeed, ...] = ()
    referrer_organisation: str | None = None


def case_taken_over(taken: TakenOver, now: datetime) -> SupportCase:
    """The case as it stands today: in its stage since `started_on`, in support since
    `support_started_on` (the two-year limit runs from it), with the reviews still to come."""
    limit = support_limit(taken.support_started_on)
    points = review_points(taken.stage, taken.started_on, taken.support_started_on, limit)
    reviews = [new_review(taken.case_id, 1, p) for p in points_taken_over(points, now.date())]
    return SupportCase(
        case_id=taken.case_id,
        organisation=taken.organisation,
        person_id=taken.person_id,
        route=Route.SUPPORT,
        lead_worker_id=taken.lead_worker_id,
        team_id=taken.team_id,
        team_leader_id=taken.team_leader_id,
        stage=taken.stage,
        stage_seq=1,
        stage_started_on=taken.started_on,
        support_started_on=taken.support_started_on,
        opened_at=now,
        target_hours_per_week=taken.target_hours_per_week,
        # Hours are planned from the day Hearth takes the case on: before it, none recorded.
        hours_periods=[HoursPeriodRecord(starts_on=now.date(), hours=taken.target_hours_per_week)],
        support_needs=list(taken.support_needs),
        referrer_organisation=taken.referrer_organisation,
        reviews={r.review_id: r for r in reviews},
        next_review_on=min((r.due_on for r in reviews), default=None),
        support_limit_on=limit,
        contact_frequency_per_week=BASE_CONTACTS_PER_WEEK,
    )


def new_review(case_id: str, stage_seq: int, point: ReviewPoint) -> Review:
    return Review(
        review_id=stable_id(case_id, str(stage_seq), point.point, point.due_on.isoformat()),
        point=point.point,
        stage=point.stage,
        due_on=point.due_on,
        reminder_on=point.reminder_on,
        weigh_against_waiting_list=point.weigh_against_waiting_list,
        status=PENDING,
    )


def pending_reviews(reviews: Mapping[str, Review]) -> list[Review]:
    return sorted((r for r in reviews.values() if r.pending), key=lambda r: r.due_on)


def next_review_on(reviews: Mapping[str, Review]) -> date | None:
    pending = pending_reviews(reviews)
    return pending[0].due_on if pending else None


def restaged_reviews(
    reviews: Mapping[str, Review],
    case_id: str,
    stage_seq: int,
    stage: Stage,
    today: date,
    support_started_on: date,
    limit: date,
) -> dict[str, Review]:
    """On a stage change the old stage's pending reviews are superseded by the new stage's."""
    result = {
        rid: r.model_copy(update={"status": "superseded"}) if r.pending else r
        for rid, r in reviews.items()
    }
    for point in review_points(stage, today, support_started_on, limit):
        if point.due_on > today:
            extra = new_review(case_id, stage_seq, point)
            result[extra.review_id] = extra
    return result


def overrides_of(case: SupportCase) -> list[LimitOverride]:
    return [
        LimitOverride(o.extend_until, o.justification, o.approved_by, o.recorded_on)
        for o in case.limit_overrides
    ]


def case_limit(case: SupportCase) -> date:
    return support_limit(case.support_started_on, overrides_of(case))


def action_record(action: Action) -> EscalationAction:
    return EscalationAction(**asdict(action), progress=Progress.NOT_STARTED)


def goal_record(goal: Goal, number: int) -> PlanGoal:
    return PlanGoal(
        goal_id=f"g{number}",
        domain=goal.domain,
        goal=goal.goal,
        actions=[
            PlanActionRecord(
                action_id=f"g{number}a{i}",
                description=a.description,
                owner=a.owner,
                partner_agency=a.partner_agency,
                due_on=a.due_on,
                progress=a.progress,
            )
            for i, a in enumerate(goal.actions, start=1)
        ],
    )


def fact(case: SupportCase, data: EventData, now: datetime) -> Envelope:
    """A new fact about a case from a person (HTTP): same correlation as the case."""
    return make_event(
        data,
        source=SOURCE,
        organisation=case.organisation,
        correlation_id=case.correlation_id,
        time=now,
    )


def recorded_fact(case: SupportCase, data: EventData, now: datetime, record_id: str) -> Envelope:
    """A fact about one record of the case (a contact, a review): its id is derived from the
    record's, so the same record never yields a second event."""
    return make_event(
        data,
        source=SOURCE,
        organisation=case.organisation,
        correlation_id=case.correlation_id,
        event_id=stable_id(case.case_id, record_id, type(data).TYPE),
        time=now,
    )
