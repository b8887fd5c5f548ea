"""The learning log's entries in a case history, each with its day (histories.py), so the
themes can be counted per period (Safe Connections Step 11)."""

from __future__ import annotations

from datetime import date

from services.outcomes.histories import CaseHistory, LearningEntry, fold_case
from tests.unit.outcomes.history_builder import ORG, case, fact


def test_each_entry_is_kept_once_with_its_day() -> None:
    history = case(
        "r1",
        route="reconnection",
        allocated="2026-01-02",
        learning=[("2026-02-01", 2, ["health", "accommodation"]), ("2026-03-01", 1, ["safety"])],
    )
    assert history.learning == [
        LearningEntry("r1-entry-0", date(2026, 2, 1), 2, ["health", "accommodation"]),
        LearningEntry("r1-entry-1", date(2026, 3, 1), 1, ["safety"]),
    ]
    assert history.learning_themes == ["accommodation", "health", "safety"]
    assert CaseHistory.from_document(history.document()) == history


def test_an_entry_with_no_case_belongs_to_who_logged_it() -> None:
    entry = fact(
        "LearningPointsRecorded",
        "entry-7",
        "2026-02-01",
        entry_id="entry-7",
        recorded_on="2026-02-01",
        points=3,
        themes=["travel_and_budget"],
    )
    history = fold_case("entry-7", [entry, entry])  # a redelivery is the same entry
    assert history.organisation == ORG
    assert history.learning == [
        LearningEntry("entry-7", date(2026, 2, 1), 3, ["travel_and_budget"])
    ]
