"""Hand-made event histories for the measures' tests: the facts the reporting store would keep
of a case's, a tenancy's or a caseworker's events, folded as the store folds them. Dates are
written "2026-01-05"; every fact happens at noon UTC of its day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from itertools import count
from typing import Any

from services.outcomes.facts import Fact
from services.outcomes.histories import (
    CaseHistory,
    CaseworkerCapacity,
    TenancyHistory,
    fold_capacity,
    fold_case,
    fold_tenancy,
)
from services.outcomes.measures.base import GroupBy, MeasureQuery, ReportingData

ORG = "derby-homes"
OTHER = "other-landlord"
_ids = count(1)


def day(text: str) -> date:
    return date.fromisoformat(text)


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"{text}T12:00:00").replace(tzinfo=UTC)


def fact(
    type_: str,
    subject: str,
    when: str,
    organisation: str = ORG,
    case_ids: Iterable[str] = (),
    **data: Any,
) -> Fact:
    return Fact(
        id=f"event-{next(_ids):06d}",
        type=type_,
        organisation=organisation,
        subject=subject,
        time=at(when),
        data={k: v for k, v in data.items() if v is not None},
        case_ids=tuple(case_ids),
    )


def case(
    case_id: str,
    *,
    org: str = ORG,
    person: str | None = None,
    referred: str | None = "2026-01-05",
    route: str = "support",
    assessed: str | None = None,
    allocated: str | None = None,
    team: str = "team-a",
    worker: str = "worker-1",
    stage: str = "stage_1",
    hours: float = 2.0,
    tenancy: str | None = None,
    contact: str | None = None,
    plan: str | None = None,
    stages: Iterable[tuple[str, str]] = (),
    reviews: Iterable[tuple[str, str | None]] = (),
    escalated: Iterable[str] = (),
    closed: str | None = None,
    reason: str = "plan_achieved",
    outcome: str = "sustained",
    destination: str | None = None,
    reconnected: str | None = None,
    followed_up: tuple[str, bool] | None = None,
    returned: bool = False,
    learning: Iterable[tuple[str, int, list[str]]] = (),
) -> CaseHistory:
    """A case folded from its facts: referral, assessment, allocation (when `allocated`), then
    the contact, plan, stage changes (stage, on), reviews (due, done or None), escalations,
    reconnection and its follow-up (on, held), learning entries (on, points, themes), closure."""
    person = person or f"person-{case_id}"
    facts: list[Fact] = []
    if referred is not None:
        facts.append(
            fact("ReferralReceived", case_id, referred, org, person_id=person, tenancy_id=tenancy)
        )
        facts.append(fact("ReferralAssessed", case_id, assessed or referred, org, route=route))
    if allocated is not None:
        facts.append(
            fact(
                "CaseAllocated",
                case_id,
                allocated,
                org,
                person_id=person,
                route=route,
                lead_worker_id=worker,
                team_id=team,
                stage=stage,
                target_hours_per_week=hours,
                allocated_at=at(allocated).isoformat(),
                tenancy_id=tenancy,
            )
        )
    if contact is not None:
        facts.append(fact("ContactLogged", case_id, contact, org, contact_on=contact))
    if plan is not None:
        facts.append(fact("SupportPlanAgreed", case_id, plan, org, agreed_on=plan))
    for new_stage, on in stages:
        facts.append(fact("StageChanged", case_id, on, org, stage=new_stage, changed_on=on))
    for number, (due, done) in enumerate(reviews):
        review = f"{case_id}-review-{number}"
        facts.append(fact("ReviewDue", case_id, due, org, review_id=review, due_on=due))
        if done is not None:
            facts.append(
                fact(
                    "ReviewCompleted",
                    case_id,
                    done,
                    org,
                    review_id=review,
                    due_on=due,
                    completed_on=done,
                    decision="continue",
                )
            )
    for on in escalated:
        facts.append(fact("CaseEscalated", case_id, on, org, risk_level="critical"))
    if reconnected is not None:
        facts.append(
            fact(
                "ReconnectionPhaseChanged",
                case_id,
                reconnected,
                org,
                phase="reconnection",
                changed_on=reconnected,
                destination_area=destination,
            )
        )
    if followed_up is not None:
        on, held = followed_up
        facts.append(
            fact(
                "ReconnectionFollowedUp",
                case_id,
                on,
                org,
                destination_area=destination,
                followed_up_on=on,
                still_in_accommodation=held,
                engaged=held,
                returned_to_rough_sleeping=returned,
            )
        )
    for number, (on, points, themes) in enumerate(learning):
        facts.append(
            fact(
                "LearningPointsRecorded",
                case_id,
                on,
                org,
                entry_id=f"{case_id}-entry-{number}",
                recorded_on=on,
                points=points,
                themes=themes,
            )
        )
    if closed is not None:
        facts.append(
            fact(
                "CaseClosed",
                case_id,
                closed,
                org,
                person_id=person,
                route=route,
                reason=reason,
                tenancy_outcome=outcome,
                closed_at=at(closed).isoformat(),
                tenancy_id=tenancy,
            )
        )
    return fold_case(case_id, facts)


def tenancy(
    tenancy_id: str,
    *,
    landlord: str = ORG,
    cases: Iterable[str] = (),
    readings: Iterable[tuple[str, float] | tuple[str, float, str] | tuple[str, float, str, str]],
    ended: tuple[str, str] | None = None,
) -> TenancyHistory:
    """A tenancy from its landlord's feed: readings (on, balance[, legal stage[, risk level]])
    (a reading with a risk level is a TenancyAtRisk, one without a TenancyArrearsReported),
    and its end (on, reason). Every fact names `cases`, the cases it was shared for."""
    shared = tuple(cases)
    facts = []
    for reading in readings:
        on, balance = reading[0], reading[1]
        legal = reading[2] if len(reading) > 2 else "none"  # type: ignore[misc]
        if len(reading) > 3:
            facts.append(
                fact(
                    "TenancyAtRisk",
                    tenancy_id,
                    on,
                    landlord,
                    shared,
                    landlord=landlord,
                    arrears_balance=balance,
                    legal_stage=legal,
                    risk_level=reading[3],  # type: ignore[misc]
                )
            )
        else:
            facts.append(
                fact(
                    "TenancyArrearsReported",
                    tenancy_id,
                    on,
                    landlord,
                    shared,
                    landlord=landlord,
                    reported_on=on,
                    arrears_balance=balance,
                    legal_stage=legal,
                )
            )
    if ended is not None:
        on, reason = ended
        facts.append(
            fact(
                "TenancyEnded",
                tenancy_id,
                on,
                landlord,
                shared,
                landlord=landlord,
                ended_on=on,
                reason=reason,
            )
        )
    return fold_tenancy(tenancy_id, facts)


def capacity(
    worker: str, *changes: tuple[str, str, float] | tuple[str, str, float, bool], org: str = ORG
) -> CaseworkerCapacity:
    """A caseworker's hours: changes (on, team, hours per week[, active])."""
    facts = [
        fact(
            "CaseworkerCapacityChanged",
            worker,
            change[0],
            org,
            team_id=change[1],
            hours_per_week=change[2],
            active=change[3] if len(change) > 3 else True,  # type: ignore[misc]
            changed_at=at(change[0]).isoformat(),
        )
        for change in changes
    ]
    return fold_capacity(worker, facts)


def data(
    *cases: CaseHistory,
    tenancies: Iterable[TenancyHistory] = (),
    capacities: Iterable[CaseworkerCapacity] = (),
) -> ReportingData:
    return ReportingData(list(cases), {t.tenancy_id: t for t in tenancies}, list(capacities))


def query(
    start: str,
    end: str,
    as_of: str,
    group_by: GroupBy = GroupBy.ORGANISATION,
    teams: Iterable[str] | None = None,
    route: str | None = None,
) -> MeasureQuery:
    return MeasureQuery(
        ORG,
        day(start),
        day(end),
        day(as_of),
        group_by,
        None if teams is None else frozenset(teams),
        route,
    )
