"""What the API shows of a case (pure: the document and today in, a JSON-able dict out)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from services.support.contacts import HoursPeriod, contact_hours
from services.support.plan import Progress, progress_share
from services.support.stages import stage_alerts
from shared.codes import Stage
from shared.mongo import Document

HIDDEN = ("_inbox", "_outbox", "_outbox_pending", "_outbox_at", "_outbox_lease")


def _stage_alerts(case: Document, today: date) -> list[str]:
    if case["status"] != "open":
        return []
    return stage_alerts(
        Stage(case["stage"]),
        date.fromisoformat(case["stage_started_on"]),
        date.fromisoformat(case["support_started_on"]),
        date.fromisoformat(case["support_limit_on"]),
        today,
    )


def summary(case: Document, today: date) -> dict[str, Any]:
    escalation = case.get("escalation") or {}
    return {
        "case_id": case["_id"],
        "person_id": case["person_id"],
        "status": case["status"],
        "stage": case["stage"],
        "lead_worker_id": case["lead_worker_id"],
        "crisis_worker_id": case.get("crisis_worker_id"),
        "team_id": case["team_id"],
        "tenancy_id": case.get("tenancy_id"),
        "target_hours_per_week": case["target_hours_per_week"],
        "contact_frequency_per_week": case.get("contact_frequency_per_week"),
        "next_review_on": case.get("next_review_on"),
        "support_limit_on": case["support_limit_on"],
        "risk_level": escalation.get("risk_level"),
        "alerts": _stage_alerts(case, today),
    }


def hours(case: Document, today: date) -> dict[str, Any]:
    periods = [
        HoursPeriod(date.fromisoformat(p["starts_on"]), p["hours"]) for p in case["hours_periods"]
    ]
    contacts = [
        (date.fromisoformat(c["occurred_on"]), c["duration_minutes"])
        for c in case.get("contacts", [])
        if c.get("attended", True)
    ]
    last_day = today
    if case["status"] != "open" and case.get("closed_at"):
        last_day = case["closed_at"].date()
    result = contact_hours(
        periods,
        contacts,
        date.fromisoformat(case["support_started_on"]),
        last_day,
        case.get("contact_frequency_per_week") or 1.0,
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


def detail(case: Document, today: date) -> dict[str, Any]:
    body = {k: v for k, v in case.items() if k not in HIDDEN and k != "_id"}
    body["case_id"] = case["_id"]
    body["reviews"] = sorted(case.get("reviews", {}).values(), key=lambda r: r["due_on"])
    body["contacts"] = sorted(case.get("contacts", []), key=lambda c: c["occurred_on"])
    body["hours"] = hours(case, today)
    body["alerts"] = _stage_alerts(case, today)
    plan = case.get("plan")
    if plan:
        progresses = [Progress(a["progress"]) for g in plan["goals"] for a in g["actions"]]
        body["plan"] = {**plan, "progress": progress_share(progresses)}
    return body


def last_day(today: date, days: int) -> date:
    """The window of "due this week": today and the next days-1 days."""
    return today + timedelta(days=days - 1)


def reviews_due(cases: list[Document], today: date, days: int = 7) -> list[dict[str, Any]]:
    """Pending reviews due within `days` from today, overdue ones included, soonest first."""
    until = last_day(today, days).isoformat()
    rows = []
    for case in cases:
        for review in case.get("reviews", {}).values():
            if review["status"] == "pending" and review["due_on"] <= until:
                rows.append(
                    {
                        **review,
                        "case_id": case["_id"],
                        "lead_worker_id": case["lead_worker_id"],
                        "overdue": review["due_on"] < today.isoformat(),
                    }
                )
    return sorted(rows, key=lambda r: (r["due_on"], r["case_id"]))
