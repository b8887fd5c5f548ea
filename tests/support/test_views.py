"""What caseworkers and team leaders see: reviews due this week, hours, alerts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from services.support.case import SupportCase
from services.support.views import detail, reviews_due, summary


def review(review_id: str, status: str, due_on: str) -> dict[str, Any]:
    return {
        "review_id": review_id,
        "point": "stage_1_week_12",
        "stage": "stage_1",
        "due_on": due_on,
        "reminder_on": due_on,
        "status": status,
    }


def case(**overrides: Any) -> SupportCase:
    """A stored case document, read as the service reads it."""
    base: dict[str, Any] = {
        "_id": "c1",
        "organisation": "derby-homes",
        "person_id": "p1",
        "status": "open",
        "stage": "stage_1",
        "lead_worker_id": "w1",
        "team_id": "t",
        "target_hours_per_week": 2.0,
        "stage_started_on": "2026-01-05",
        "support_started_on": "2026-01-05",
        "support_limit_on": "2028-01-05",
        "hours_periods": [{"starts_on": "2026-01-05", "hours": 2.0}],
        "contacts": [
            {
                "contact_id": "k1",
                "worker_id": "w1",
                "channel": "phone",
                "occurred_on": "2026-03-30",
                "duration_minutes": 60,
                "logged_at": datetime(2026, 3, 30, tzinfo=UTC),
            }
        ],
        "reviews": {
            "r1": review("r1", "pending", "2026-03-30"),
            "r2": review("r2", "pending", "2026-04-10"),
            "r0": review("r0", "completed", "2026-03-01"),
            "rx": review("rx", "pending", "2026-03-20"),
        },
        "_inbox": ["e1"],
        "_outbox": {},
    }
    document = {**base, **overrides}
    return SupportCase.model_validate({**document, "case_id": document["_id"]})


def test_reviews_due_in_the_next_seven_days_and_overdue() -> None:
    rows = reviews_due([case()], date(2026, 3, 26))
    assert [(r["review_id"], r["overdue"]) for r in rows] == [("rx", True), ("r1", False)]


def test_detail_hides_the_spine_and_shows_hours_and_alerts() -> None:
    body = detail(case(), date(2026, 3, 31))
    assert "_inbox" not in body and "_outbox" not in body
    assert [r["review_id"] for r in body["reviews"]] == ["r0", "rx", "r1", "r2"]
    assert body["hours"]["actual_hours"] == 1.0
    assert body["alerts"] == ["stage_1_over_12_weeks"]


def test_closed_case_hours_stop_at_closure() -> None:
    closed = case(status="closed", closed_at=datetime(2026, 1, 19, tzinfo=UTC))
    assert detail(closed, date(2026, 6, 1))["hours"]["planned_hours"] == 4.29
    assert summary(closed, date(2026, 6, 1))["alerts"] == []
