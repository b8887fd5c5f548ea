"""What the API shows of a case (pure: the case and today in, a JSON-able dict out).

Dates and datetimes are left to the HTTP layer to encode, as when the document itself was
answered: a date as "2026-03-30", a datetime in ISO form."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from services.support.case import SupportCase
from services.support.contacts import HoursPeriod, contact_hours
from services.support.hours_periods import distinct_periods
from services.support.plan import progress_share
from services.support.stages import stage_alerts


def _stage_alerts(case: SupportCase, today: date) -> list[str]:
    if not case.is_open:
        return []
    return stage_alerts(
        case.stage, case.stage_started_on, case.support_started_on, case.support_limit_on, today
    )


def summary(case: SupportCase, today: date) -> dict[str, Any]:
    return {
        "case_id": case.case_id,
        "person_id": case.person_id,
        "status": case.status,
        "stage": case.stage,
        "lead_worker_id": case.lead_worker_id,
        "crisis_worker_id": case.crisis_worker_id,
        "team_id": case.team_id,
        "tenancy_id": case.tenancy_id,
        "target_hours_per_week": case.target_hours_per_week,
        "contact_frequency_per_week": case.contact_frequency_per_week,
        "next_review_on": case.next_review_on,
        "support_limit_on": case.support_limit_on,
        "risk_level": case.escalation.risk_level if case.escalation else None,
        "alerts": _stage_alerts(case, today),
    }


def escalated(case: SupportCase, today: date) -> dict[str, Any]:
    """A case in the safety net's list: its summary and its escalation."""
    escalation = case.escalation.model_dump() if case.escalation else None
    return {**summary(case, today), "escalation": escalation}


def hours(case: SupportCase, today: date) -> dict[str, Any]:
    periods = [HoursPeriod(p.starts_on, p.hours) for p in distinct_periods(case.hours_periods)]
    contacts = [(c.occurred_on, c.duration_minutes) for c in case.contacts if c.attended]
    last_day = today
    if not case.is_open and case.closed_at:
        last_day = case.closed_at.date()
    result = contact_hours(
        periods,
        contacts,
        case.support_started_on,
        last_day,
        case.contact_frequency_per_week or 1.0,
    )
    return {
        "planned_hours": result.planned_hours,
        "actual_hours": result.actual_hours,
        "planned_hours_this_week": result.planned_hours_this_week,
        "actual_hours_this_week": result.actual_hours_this_week,
        "contacts_this_week": result.contacts_this_week,
        "required_contacts_per_week": result.required_contacts_per_week,
        "contacts_short_this_week": result.contacts_short_this_week,
    }


def detail(case: SupportCase, today: date) -> dict[str, Any]:
    body = case.model_dump()
    # Each period once, as cases stored before periods were kept distinct are shown too.
    body["hours_periods"] = [p.model_dump() for p in distinct_periods(case.hours_periods)]
    body["reviews"] = [
        r.model_dump() for r in sorted(case.reviews.values(), key=lambda r: r.due_on)
    ]
    body["contacts"] = [c.model_dump() for c in sorted(case.contacts, key=lambda c: c.occurred_on)]
    body["hours"] = hours(case, today)
    body["alerts"] = _stage_alerts(case, today)
    if case.plan:
        body["plan"] = {
            **case.plan.model_dump(),
            "progress": progress_share(case.plan.progresses()),
        }
    return body


def last_day(today: date, days: int) -> date:
    """The window of "due this week": today and the next days-1 days."""
    return today + timedelta(days=days - 1)


def reviews_due(cases: list[SupportCase], today: date, days: int = 7) -> list[dict[str, Any]]:
    """Pending reviews due within `days` from today, overdue ones included, soonest first."""
    until = last_day(today, days)
    rows = [
        (review, case)
        for case in cases
        for review in case.reviews.values()
        if review.pending and review.due_on <= until
    ]
    rows.sort(key=lambda row: (row[0].due_on, row[1].case_id))
    return [
        {
            **review.model_dump(),
            "case_id": case.case_id,
            "lead_worker_id": case.lead_worker_id,
            "overdue": review.due_on < today,
        }
        for review, case in rows
    ]
