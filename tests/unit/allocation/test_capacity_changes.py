"""When a caseworker's capacity for casework changes, and the event's derived id (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.allocation.capacity_changes import (
    ADDED,
    Capacity,
    capacity_after,
    capacity_changed,
    capacity_of,
)
from services.allocation.records import Caseworker

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MIA = Caseworker(
    worker_id="mia", organisation="derby-homes", team_id="team-a", contracted_hours=18.5
)


def test_only_team_hours_and_activity_are_capacity() -> None:
    assert capacity_after(MIA, {"name": "Mia Khan"}, None) == capacity_of(MIA)
    assert capacity_after(MIA, {"team_id": "team-b"}, 22.5) == Capacity("team-b", 22.5, True)
    assert capacity_after(MIA, {"active": False}, None) == Capacity("team-a", 18.5, False)


def test_a_change_emits_one_event_with_an_id_derived_from_the_record() -> None:
    before, after = capacity_of(MIA), Capacity("team-a", 22.5, True)
    assert capacity_changed(MIA, before, before, 3, AT) == []
    [event] = capacity_changed(MIA, before, after, 3, AT)
    assert event.data == {
        "caseworker_id": "mia",
        "team_id": "team-a",
        "hours_per_week": 22.5,
        "active": True,
        "changed_at": "2026-03-02T09:00:00Z",
    }
    assert event.subject == "mia" and event.organisation == "derby-homes"
    [same] = capacity_changed(MIA, before, after, 3, AT)
    assert same.id == event.id  # decided again on the same version: the same event
    [later] = capacity_changed(MIA, before, after, 9, AT)
    assert later.id != event.id  # the same capacity reached again later: a new event
    [added] = capacity_changed(MIA, None, before, ADDED, AT)
    assert added.data["hours_per_week"] == 18.5
