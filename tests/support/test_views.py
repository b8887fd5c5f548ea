"""What caseworkers and team leaders see: reviews due this week, hours, alerts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from services.support.views import detail, reviews_due, summary


def case(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "_id": "c1",
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
        "contacts": [{"occurred_on": "2026-03-30", "duration_minutes": 60}],
        "reviews": {
            "r1": {"review_id": "r1", "status": "pending", "due_on": "2026-03-30"},
            "r2": {"review_id": "r2", "status": "pending", "due_on": "2026-04-10"},
            "r0": {"review_id": "r0", "status": "completed", "due_on": "2026-03-01"},
            "rx": {"review_id": "rx", "status": "pending", "due_on": "2026-03-20"},
        },
        "_inbox": ["e1"],
        "_outbox": {},
    }
    return {**base, **overrides}


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
