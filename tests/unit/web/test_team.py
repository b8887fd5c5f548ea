"""The team leader pages' pure parts: the waiting list's rows and reasons, teams' hours, the
caseworkers offered for a reallocation and the reallocation form's checks."""

from __future__ import annotations

from datetime import date

from services.web.backend import ApiError
from services.web.pages.team import (
    api_field_errors,
    points,
    reallocation_errors,
    team_groups,
    waited,
    waiting_rows,
    worker_options,
)

TODAY = date(2026, 12, 1)


def entry(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "rank": 1,
        "position": 1,
        "kind": "waiting",
        "case_id": "ref-1",
        "score": 45.0,
        "reasons": ["facing homelessness within 7 days (3 days) (+35)"],
        "parts": [
            {"code": "urgency", "points": 35.0, "reason": "facing homelessness within 7 days"},
            {"code": "legal_stage", "points": 10.0, "reason": "legal stage: notice served"},
        ],
        "support_needs": ["mental_health", "budgeting_debt"],
        "target_hours": 2.0,
        "waiting_since": "2026-11-28T09:00:00Z",
        "waiting_days": 3.2,
        "waiting_reason": "no mental-health caseworker with 2 h free",
    }
    base.update(overrides)
    return base


def test_rows_follow_the_ranking_with_each_part_of_the_score() -> None:
    review = entry(
        rank=1,
        position=None,
        kind="review",
        case_id="ref-9",
        parts=[{"code": "review", "points": 0.0, "reason": "continued priority at review x"}],
        lead_worker_id="cw-1",
        review_point="stage_1_week_12",
        due_on="2026-12-03",
    )
    rows = waiting_rows([entry(rank=2), review], {"cw-1": "Asha Patel"})
    assert [r.case_id for r in rows] == ["ref-9", "ref-1"]
    waiting = rows[1]
    assert [(p.reason, p.points) for p in waiting.parts] == [
        ("Facing homelessness within 7 days", "+35"),
        ("Legal stage: notice served", "+10"),
    ]
    assert waiting.score == "45" and waiting.position == 1
    assert waiting.needs == ["Mental health", "Budgeting debt"]
    assert waiting.hours == "2 hours a week" and waiting.waited == "3 days"
    assert waiting.why_waiting == "No mental-health caseworker with 2 h free"
    assert rows[0].lead_worker == "Asha Patel" and rows[0].parts[0].points == ""


def test_rows_fall_back_to_the_reasons_as_text() -> None:
    [row] = waiting_rows([entry(parts=[])], {})
    assert [p.reason for p in row.parts] == ["Facing homelessness within 7 days (3 days) (+35)"]


def test_points_and_waits_read_as_words() -> None:
    assert (points(40), points(2.5), points(0), points(-3)) == ("+40", "+2.5", "", "-3")
    assert (waited(0.4), waited(1.9), waited(12)) == ("Less than a day", "1 day", "12 days")
    assert waited(None) == ""


def worker(wid: str, team: str, name: str, contracted: float, free: float, **kw: object) -> dict:
    return {
        "id": wid,
        "team_id": team,
        "name": name,
        "specialisms": ["mental_health"],
        "contracted_hours": contracted,
        "free_hours": free,
        "hours_committed": contracted - free,
        "open_cases": kw.get("open_cases", 1),
        "max_caseload": kw.get("max_caseload", 10),
        "active": kw.get("active", True),
        "on_leave_today": kw.get("on_leave_today", False),
    }


TEAMS = [
    {"id": "west", "name": "West", "team_leader": {"name": "Wyn"}},
    {"id": "east", "name": "East", "team_leader": {"name": "Abi"}},
]


def test_teams_add_up_their_caseworkers_hours_own_team_first() -> None:
    workers = [
        worker("b", "east", "Ben", 6, 4),
        worker("a", "east", "Asha", 4, 0, open_cases=2),
        worker("c", "west", "Cara", 4, 4, open_cases=0, on_leave_today=True),
    ]
    capacity = {"teams": [{"team_id": "east", "waiting": 2, "longest_wait_days": 3.5}]}
    groups = team_groups(TEAMS, workers, {"a": ["r2", "r1"]}, capacity, frozenset({"east"}))
    east, west = groups
    assert (east.team_id, east.mine, west.mine) == ("east", True, False)
    assert [w.name for w in east.workers] == ["Asha", "Ben"]
    assert (east.contracted, east.committed, east.free, east.percent) == (10, 6, 4, 60)
    asha = east.workers[0]
    assert (asha.committed, asha.percent, asha.cases, asha.state) == (
        4,
        100,
        ["r1", "r2"],
        ("Full", "red"),
    )
    assert west.workers[0].state == ("On leave", "yellow") and west.waiting is None
    summary = dict(east.summary)
    assert summary["Hours committed"] == "6 of 10 contracted hours a week (60%)"
    assert summary["Waiting cases it could lead"] == "2, the longest for 3 days"


def test_reallocation_offers_other_active_caseworkers_its_team_first() -> None:
    workers = [
        worker("c", "west", "Cara", 4, 4),
        worker("b", "east", "Ben", 6, 4),
        worker("a", "east", "Asha", 4, 0),
        worker("z", "east", "Zed", 4, 4, active=False),
    ]
    options = worker_options(workers, {"east": "East", "west": "West"}, "east", "a")
    assert [o.value for o in options] == ["b", "c"]
    assert options[0].hint == "East. 4 of 6 hours free, 1 of 10 cases"


def test_the_form_names_every_missing_answer() -> None:
    errors, _ = reallocation_errors({}, {"b"}, TODAY)
    assert list(errors) == ["reason", "to_worker_id"]
    errors, _ = reallocation_errors({"reason": "cover"}, {"b"}, TODAY)
    assert list(errors) == ["cover_until", "to_worker_id"]  # the page's order
    errors, body = reallocation_errors(
        {"reason": "change_of_worker", "to_worker_id": "b"}, {"b"}, TODAY
    )
    assert not errors and body == {"reason": "change_of_worker", "to_worker_id": "b"}
    errors, _ = reallocation_errors(
        {"reason": "change_of_worker", "to_worker_id": "x"}, set(), TODAY
    )
    assert errors == {"to_worker_id": "Select a caseworker from the list"}


def test_cover_needs_a_real_end_date_not_in_the_past() -> None:
    base = {"reason": "cover", "to_worker_id": "b"}
    assert reallocation_errors(base, {"b"}, TODAY)[0] == {
        "cover_until": "Enter the date the cover ends"
    }
    bad = {**base, "cover_until-day": "31", "cover_until-month": "2", "cover_until-year": "2027"}
    assert "real date" in reallocation_errors(bad, {"b"}, TODAY)[0]["cover_until"]
    past = {**bad, "cover_until-day": "1", "cover_until-month": "1", "cover_until-year": "2026"}
    assert "today or in the future" in reallocation_errors(past, {"b"}, TODAY)[0]["cover_until"]
    good = {**bad, "cover_until-day": "5", "cover_until-month": "1", "cover_until-year": "2027"}
    errors, body = reallocation_errors(good, {"b"}, TODAY)
    assert not errors and body["cover_until"] == "2027-01-05"


def test_a_refusal_lands_on_the_field_it_names() -> None:
    conflict = ApiError("allocation", 409, "to_worker_id: the caseworker does not have 2 h free")
    assert api_field_errors(conflict) == {"to_worker_id": "The caseworker does not have 2 h free"}
    invalid = ApiError(
        "allocation",
        422,
        {"detail": "x", "errors": [{"field": "cover_until", "message": "only for cover"}]},
    )
    assert api_field_errors(invalid) == {"cover_until": "only for cover"}
    other = ApiError("allocation", 409, "case_id: the case changed meanwhile; try again")
    assert api_field_errors(other) == {"to_worker_id": "The case changed meanwhile; try again"}
