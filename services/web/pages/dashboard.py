"""The service manager's dashboard: demand against capacity, waiting times, reviews on time,
escalations and closures by reason, each as a chart with its figures in a table beside it.

The dashboard is about now: what the APIs list today (capacity, the waiting list, reviews
due, open escalations, recent closures). Figures over months (tenancies sustained, turnover,
repeat presentations, waits, reviews done on time) are the outcomes service's, on the
Outcomes page (pages/outcomes.py); the dashboard shows the one it has a section for (reviews
done on time over the last 12 months) and links there."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.web.backend import ApiError
from services.web.charts import Chart, Datum, figure
from services.web.context import ViewerDep
from services.web.rendering import refused, render, words
from shared.policy import Permission

router = APIRouter()

REFERRALS_LISTED = 500  # the referral API's largest page
CLOSURE_DAYS = 90
DEMAND_WEEKS = 8
REVIEW_DAYS = 28
REVIEWS_ON_TIME = "reviews_on_time"  # the outcomes service's measure
WAIT_BANDS: tuple[tuple[str, float], ...] = (
    ("Under 1 day", 1.0),
    ("1 to 7 days", 8.0),
    ("8 to 28 days", 29.0),
    ("29 to 90 days", 91.0),
)
WAIT_OVER = "Over 90 days"


@dataclass
class Source:
    """One API answer for a block of a page, or why there is none."""

    data: Any = None
    problem: str | None = None


async def fetch(call: Awaitable[Any]) -> Source:
    """An API call whose failure costs only its own block of the page."""
    try:
        return Source(await call)
    except ApiError as exc:
        if exc.status in (401, 403):
            return Source(problem=f"You may not see this ({exc.service} service).")
        return Source(problem=f"The {exc.service} service could not answer. Try again later.")


async def skipped() -> Source:
    """A source this person's role does not include: its block is left out."""
    return Source()


# --- figures (pure) ------------------------------------------------------------------------


def capacity_chart(capacity: dict[str, Any]) -> Chart:
    totals = capacity.get("organisation_totals", {})
    return Chart(
        key="chart-capacity",
        title="Demand against capacity (hours a week)",
        description="Caseworkers' contracted hours, the hours committed to open cases, the "
        "hours free, and the hours the waiting cases need.",
        data=(
            Datum("Contracted", float(totals.get("contracted_hours", 0))),
            Datum("Committed to cases", float(totals.get("hours_committed", 0))),
            Datum("Free", float(totals.get("hours_free", 0))),
            Datum("Needed by waiting cases", float(totals.get("waiting_demand_hours", 0))),
        ),
        label_heading="Hours",
        value_heading="Hours a week",
    )


def team_chart(capacity: dict[str, Any]) -> Chart:
    return Chart(
        key="chart-teams",
        title="Hours committed per team, as a percentage of contracted hours",
        description="How full each team is.",
        data=tuple(
            Datum(str(t.get("name") or t.get("team_id")), round(100 * t.get("utilisation", 0), 1))
            for t in capacity.get("teams", [])
        ),
        label_heading="Team",
        value_heading="Committed (%)",
    )


def wait_chart(waiting_list: dict[str, Any]) -> Chart:
    """How long the cases on the waiting list have waited, in bands."""
    counts = dict.fromkeys([label for label, _ in WAIT_BANDS] + [WAIT_OVER], 0)
    for entry in waiting_list.get("entries", []):
        if entry.get("kind") != "waiting":
            continue
        days = float(entry.get("waiting_days") or 0)
        band = next((label for label, below in WAIT_BANDS if days < below), WAIT_OVER)
        counts[band] += 1
    return Chart(
        key="chart-waits",
        title="How long waiting cases have waited",
        description="Cases on the waiting list now, by how long they have waited.",
        data=tuple(Datum(label, n) for label, n in counts.items()),
        label_heading="Waited",
        value_heading="Cases",
    )


def review_chart(reviews: list[dict[str, Any]], today: date) -> Chart:
    overdue = sum(1 for r in reviews if r.get("overdue"))
    this_week = sum(
        1 for r in reviews if not r.get("overdue") and _day(r.get("due_on")) <= today + timedelta(6)
    )
    later = len(reviews) - overdue - this_week
    return Chart(
        key="chart-reviews",
        title="Reviews due and overdue",
        description=f"Pending reviews: overdue, due in the next 7 days, and due in the "
        f"{REVIEW_DAYS} days after today.",
        data=(
            Datum("Overdue", overdue),
            Datum("Due in the next 7 days", this_week),
            Datum(f"Due in 8 to {REVIEW_DAYS} days", later),
        ),
        label_heading="Reviews",
        value_heading="Reviews",
    )


def escalation_chart(cases: list[dict[str, Any]]) -> Chart:
    counts = Counter(words(c.get("risk_level") or "not recorded") for c in cases)
    return Chart(
        key="chart-escalations",
        title="Open escalated cases by risk level",
        description="Cases the safety net has escalated that are still open.",
        data=tuple(Datum(level, n) for level, n in sorted(counts.items())),
        label_heading="Risk level",
        value_heading="Cases",
    )


def closure_chart(referrals: list[dict[str, Any]], now: datetime) -> Chart:
    since = now - timedelta(days=CLOSURE_DAYS)
    closed = [r for r in referrals if r.get("closed_at") and _moment(r["closed_at"]) >= since]
    counts = Counter(words(r.get("closure_reason") or "not recorded") for r in closed)
    return Chart(
        key="chart-closures",
        title=f"Cases closed in the last {CLOSURE_DAYS} days, by reason",
        description="Why cases were closed.",
        data=tuple(Datum(reason, n) for reason, n in counts.most_common()),
        label_heading="Reason",
        value_heading="Cases",
    )


def outcome_chart(referrals: list[dict[str, Any]], now: datetime) -> Chart:
    since = now - timedelta(days=CLOSURE_DAYS)
    closed = [r for r in referrals if r.get("closed_at") and _moment(r["closed_at"]) >= since]
    counts = Counter(words(r.get("tenancy_outcome") or "not recorded") for r in closed)
    return Chart(
        key="chart-outcomes",
        title=f"Tenancy outcomes of cases closed in the last {CLOSURE_DAYS} days",
        description="What became of the tenancy when the case closed.",
        data=tuple(Datum(outcome, n) for outcome, n in counts.most_common()),
        label_heading="Tenancy outcome",
        value_heading="Cases",
    )


def demand_chart(referrals: list[dict[str, Any]], today: date, weeks: int = DEMAND_WEEKS) -> Chart:
    """Referrals received per week (Monday to Sunday), the last `weeks` weeks, oldest first."""
    this_monday = today - timedelta(days=today.weekday())
    mondays = [this_monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    counts = dict.fromkeys(mondays, 0)
    for referral in referrals:
        received = referral.get("received_at")
        if not received:
            continue
        day = _moment(received).date()
        monday = day - timedelta(days=day.weekday())
        if monday in counts:
            counts[monday] += 1
    return Chart(
        key="chart-demand",
        title=f"Referrals received each week, the last {weeks} weeks",
        description="New referrals by the week they arrived (weeks start on Monday).",
        data=tuple(Datum(f"{m.day} {m:%b}", n) for m, n in counts.items()),
        label_heading="Week starting",
        value_heading="Referrals",
        kind="line",
    )


def last_year(today: date) -> dict[str, str]:
    """The Outcomes page's default period: from the first of the month eleven months back."""
    index = today.year * 12 + today.month - 1 - 11
    return {"from": date(index // 12, index % 12 + 1, 1).isoformat(), "to": today.isoformat()}


def organisation_figure(result: Any) -> dict[str, Any] | None:
    """A measure's figure for the whole organisation (or the caller's teams): the group {}."""
    figures = (result or {}).get("figures", []) if isinstance(result, dict) else []
    return next((f for f in figures if not f.get("group")), None)


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return date.fromisoformat(str(value)[:10])


# --- the page ------------------------------------------------------------------------------


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, viewer: ViewerDep) -> HTMLResponse:
    if not viewer.may(Permission.REPORTS):
        return refused(request, viewer)
    api = viewer.api
    may_read_cases = viewer.may(Permission.CASES_READ)
    now = datetime.now(UTC)
    today = now.date()
    capacity, waiting, reviews, escalated, closed, received, on_time = await asyncio.gather(
        fetch(api.get("allocation", "/capacity")),
        fetch(api.get("allocation", "/waiting-list"))
        if viewer.may(Permission.WAITING_LIST)
        else skipped(),
        fetch(api.get("support", "/reviews/due", days=REVIEW_DAYS))
        if may_read_cases
        else skipped(),
        fetch(api.get("support", "/escalated-cases")) if may_read_cases else skipped(),
        fetch(api.get("referral", "/referrals", status="closed", limit=REFERRALS_LISTED))
        if viewer.may(Permission.REFERRALS_READ)
        else skipped(),
        fetch(api.get("referral", "/referrals", limit=REFERRALS_LISTED))
        if viewer.may(Permission.REFERRALS_READ)
        else skipped(),
        fetch(api.get("outcomes", f"/outcomes/measures/{REVIEWS_ON_TIME}", **last_year(today))),
    )
    review_list = (reviews.data or {}).get("reviews", [])
    escalated_list = (escalated.data or {}).get("cases", [])
    closed_list = (closed.data or {}).get("referrals", [])
    received_list = (received.data or {}).get("referrals", [])
    on_time_figure = organisation_figure(on_time.data)
    return render(
        request,
        viewer,
        "dashboard/index.html",
        generated_at=now,
        capacity=capacity,
        totals=(capacity.data or {}).get("organisation_totals", {}),
        teams=(capacity.data or {}).get("teams", []),
        capacity_chart=capacity_chart(capacity.data) if capacity.data else None,
        team_chart=team_chart(capacity.data) if capacity.data else None,
        waiting=waiting,
        wait_chart=wait_chart(waiting.data) if waiting.data else None,
        reviews=reviews,
        overdue=[r for r in review_list if r.get("overdue")],
        review_chart=review_chart(review_list, today) if reviews.data else None,
        review_days=REVIEW_DAYS,
        on_time=on_time,
        on_time_figure=on_time_figure,
        on_time_percent=figure(on_time_figure["value"])
        if on_time_figure and on_time_figure.get("value") is not None
        else "",
        escalated=escalated,
        escalated_list=escalated_list,
        escalation_chart=escalation_chart(escalated_list) if escalated.data else None,
        closed=closed,
        closure_chart=closure_chart(closed_list, now) if closed.data else None,
        outcome_chart=outcome_chart(closed_list, now) if closed.data else None,
        closed_listed=len(closed_list),
        closure_days=CLOSURE_DAYS,
        received=received,
        demand_chart=demand_chart(received_list, today) if received.data else None,
        referrals_listed=REFERRALS_LISTED,
    )
