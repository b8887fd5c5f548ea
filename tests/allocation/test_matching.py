"""Matching a case to a lead caseworker: specialism, hours for the stage, availability."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date

import pytest

from services.allocation.matching import (
    STAGE_HOURS,
    CaseToPlace,
    Match,
    NoMatch,
    WorkerView,
    choose_worker,
    may_place,
    open_room,
    target_hours,
)
from services.allocation.records import CaseEntry
from services.allocation.records import placement_fields as placement_of
from services.allocation.specialisms import Specialism as S
from services.allocation.specialisms import wanted_specialisms
from shared.codes import RiskLevel, Route, Stage, SupportNeed

TODAY = date(2026, 3, 2)


def worker(
    worker_id: str, *skills: S, free: float = 10.0, slots: int = 5, **kw: object
) -> WorkerView:
    return WorkerView(worker_id, "team-a", frozenset(skills), free, slots, **kw)  # type: ignore[arg-type]


def case(*needs: SupportNeed, route: Route = Route.SUPPORT, **kw: object) -> CaseToPlace:
    return CaseToPlace("case-1", route, tuple(needs), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stage", "risk", "hours"),
    [
        (Stage.STAGE_1, None, 2.0),  # crisis intervention, 1-3 h/week: the middle
        (Stage.STAGE_1, RiskLevel.HIGH, 2.0),
        (Stage.STAGE_1, RiskLevel.CRITICAL, 3.0),  # the top of the range
        (Stage.STAGE_2, None, 2.0),
        (Stage.STAGE_3, None, 1.0),  # low-level support, 1/2-3 h/week
        (Stage.STAGE_3, RiskLevel.CRITICAL, 3.0),
    ],
)
def test_target_hours_follow_the_stage(stage: Stage, risk: RiskLevel | None, hours: float) -> None:
    assert target_hours(stage, risk) == hours
    low, high = STAGE_HOURS[stage]
    assert low <= hours <= high


@pytest.mark.parametrize(
    ("route", "needs", "wanted"),
    [
        (Route.RECONNECTION, [SupportNeed.MENTAL_HEALTH], {S.RECONNECTION}),
        (Route.SUPPORT, [SupportNeed.MENTAL_HEALTH], {S.MENTAL_HEALTH}),
        (Route.SUPPORT, [SupportNeed.ALCOHOL_DEPENDENCY], {S.SUBSTANCE_MISUSE}),
        (Route.SUPPORT, [SupportNeed.DRUG_DEPENDENCY], {S.SUBSTANCE_MISUSE}),
        (Route.SUPPORT, [SupportNeed.DOMESTIC_ABUSE], {S.DOMESTIC_ABUSE}),
        (Route.SUPPORT, [SupportNeed.CARE_LEAVER_18_20], {S.YOUNG_PEOPLE}),
        (Route.SUPPORT, [SupportNeed.YOUNG_PARENT], {S.YOUNG_PEOPLE}),  # Derby: Oasis, 16-24
        (Route.SUPPORT, [SupportNeed.OFFENDING], {S.OFFENDING}),  # Derby: Action Housing
        (Route.SUPPORT, [SupportNeed.BUDGETING_DEBT, SupportNeed.BENEFITS], {S.GENERALIST}),
        (Route.SUPPORT, [], {S.GENERALIST}),
        (
            Route.SUPPORT,
            [SupportNeed.MENTAL_HEALTH, SupportNeed.DRUG_DEPENDENCY, SupportNeed.BENEFITS],
            {S.MENTAL_HEALTH, S.SUBSTANCE_MISUSE},
        ),
    ],
)
def test_needs_map_to_specialisms(route: Route, needs: list[SupportNeed], wanted: set[S]) -> None:
    assert wanted_specialisms(route, needs) == wanted


def test_reconnection_goes_only_to_a_reconnection_worker() -> None:
    workers = [worker("generic", S.GENERALIST), worker("mh", S.MENTAL_HEALTH)]
    result = choose_worker(
        case(SupportNeed.MENTAL_HEALTH, route=Route.RECONNECTION), workers, TODAY
    )
    assert result == NoMatch("no reconnection caseworker in the organisation", 2.0)
    workers.append(worker("safe-connections", S.RECONNECTION))
    chosen = choose_worker(case(route=Route.RECONNECTION), workers, TODAY)
    assert isinstance(chosen, Match) and chosen.worker_id == "safe-connections"


def test_specialist_cases_wait_for_a_specialist_and_generalists_take_the_rest() -> None:
    workers = [worker("generic", S.GENERALIST), worker("mh", S.MENTAL_HEALTH)]
    mh = choose_worker(case(SupportNeed.MENTAL_HEALTH), workers, TODAY)
    generic = choose_worker(case(SupportNeed.BENEFITS), workers, TODAY)
    assert isinstance(mh, Match) and mh.worker_id == "mh"
    assert isinstance(generic, Match) and generic.worker_id == "generic"


def test_prefers_the_worker_covering_most_of_the_needs_then_most_free_hours() -> None:
    needs = (SupportNeed.MENTAL_HEALTH, SupportNeed.ALCOHOL_DEPENDENCY)
    workers = [
        worker("mh-only", S.MENTAL_HEALTH, free=30),
        worker("dual", S.MENTAL_HEALTH, S.SUBSTANCE_MISUSE, free=4),
    ]
    chosen = choose_worker(case(*needs), workers, TODAY)
    assert isinstance(chosen, Match) and chosen.worker_id == "dual"
    busy, idle = worker("busy", S.GENERALIST, free=3), worker("idle", S.GENERALIST, free=20)
    chosen = choose_worker(case(), [busy, idle], TODAY)
    assert isinstance(chosen, Match) and chosen.worker_id == "idle"


def test_no_capacity_says_why() -> None:
    full = worker("mh", S.MENTAL_HEALTH, free=1.5)
    assert choose_worker(case(SupportNeed.MENTAL_HEALTH), [full], TODAY) == NoMatch(
        "no mental-health caseworker with 2 h free", 2.0
    )
    critical = case(SupportNeed.MENTAL_HEALTH, risk_level=RiskLevel.CRITICAL)
    assert choose_worker(critical, [replace(full, free_hours=2.5)], TODAY) == NoMatch(
        "no mental-health caseworker with 3 h free", 3.0
    )
    no_slot = worker("mh", S.MENTAL_HEALTH, slots=0)
    result = choose_worker(case(SupportNeed.MENTAL_HEALTH), [no_slot], TODAY)
    assert isinstance(result, NoMatch) and "maximum caseload" in result.reason
    both = case(SupportNeed.MENTAL_HEALTH, SupportNeed.DRUG_DEPENDENCY)
    result = choose_worker(both, [full], TODAY)
    assert result == NoMatch("no mental-health or substance-misuse caseworker with 2 h free", 2.0)


def test_workers_on_leave_or_inactive_take_no_new_cases() -> None:
    away = worker("away", S.GENERALIST, leave_from=date(2026, 3, 1), leave_to=date(2026, 3, 2))
    assert away.on_leave(TODAY) and not away.on_leave(date(2026, 3, 3))
    assert not away.on_leave(date(2026, 2, 28))
    result = choose_worker(case(), [away, worker("gone", S.GENERALIST, active=False)], TODAY)
    assert result == NoMatch("every generalist caseworker is on leave or inactive", 2.0)
    assert isinstance(choose_worker(case(), [away], date(2026, 3, 3)), Match)
    open_ended = worker("sick", S.GENERALIST, leave_from=date(2026, 1, 1))
    assert open_ended.on_leave(date(2030, 1, 1))


def test_reallocation_excludes_the_current_worker_and_keeps_the_hours() -> None:
    workers = [worker("old", S.GENERALIST, free=40), worker("new", S.GENERALIST, free=1)]
    result = choose_worker(case(), workers, TODAY, exclude=["old"], hours=1.0)
    assert result == Match("new", "team-a", 1.0, frozenset({S.GENERALIST}))


def test_derby_sized_team_never_over_commits_a_worker() -> None:
    """Derby: about 200 tenants for a 24-strong team. Greedy matching with the claims applied
    keeps every worker within contracted hours and caseload; the rest wait."""
    skills = [S.GENERALIST, S.MENTAL_HEALTH, S.DOMESTIC_ABUSE, S.SUBSTANCE_MISUSE, S.YOUNG_PEOPLE]
    team = {
        f"w{i}": worker(f"w{i}", skills[i % len(skills)], S.GENERALIST, free=16.0, slots=8)
        for i in range(24)
    }
    contracted = {w: v.free_hours for w, v in team.items()}
    needs_cycle = [
        (),
        (SupportNeed.MENTAL_HEALTH,),
        (SupportNeed.DOMESTIC_ABUSE, SupportNeed.BUDGETING_DEBT),
        (SupportNeed.ALCOHOL_DEPENDENCY,),
        (SupportNeed.CARE_LEAVER_18_20,),
    ]
    placed, waiting = 0, 0
    for n in range(200):
        risk = RiskLevel.CRITICAL if n % 7 == 0 else None
        to_place = CaseToPlace(f"c{n}", Route.SUPPORT, needs_cycle[n % 5], risk_level=risk)
        result = choose_worker(to_place, team.values(), TODAY)
        if isinstance(result, NoMatch):
            waiting += 1
            continue
        chosen = team[result.worker_id]
        team[chosen.worker_id] = replace(
            chosen,
            free_hours=chosen.free_hours - result.hours,
            free_slots=chosen.free_slots - 1,
            open_cases=chosen.open_cases + 1,
        )
        placed += 1
    assert placed + waiting == 200 and waiting > 0
    for worker_id, view in team.items():
        assert view.free_hours >= 0 and view.free_slots >= 0
        assert contracted[worker_id] - view.free_hours <= contracted[worker_id]


def test_open_room_is_the_most_hours_free_per_specialism_of_present_workers() -> None:
    workers = [
        worker("a", S.GENERALIST, S.MENTAL_HEALTH, free=3.0),
        worker("b", S.GENERALIST, free=5.0),
        worker("full", S.DOMESTIC_ABUSE, free=6.0, slots=0),  # at maximum caseload
        worker("away", S.OFFENDING, free=9.0, leave_from=TODAY),
        worker("gone", S.YOUNG_PEOPLE, free=9.0, active=False),
        worker("none", S.RECONNECTION, free=0.0),
    ]
    assert open_room(workers, TODAY) == {S.GENERALIST: 5.0, S.MENTAL_HEALTH: 3.0}
    assert open_room([workers[2], workers[3]], TODAY) == {}  # nobody has room: no pass


@pytest.mark.parametrize(
    ("wanted", "hours", "placeable"),
    [
        ({S.GENERALIST}, 2.0, True),
        ({S.MENTAL_HEALTH}, 3.0, True),
        ({S.MENTAL_HEALTH}, 3.5, False),  # the specialism is there, not the hours
        ({S.DOMESTIC_ABUSE, S.MENTAL_HEALTH}, 2.0, True),  # any one wanted specialism
        ({S.DOMESTIC_ABUSE}, 1.0, False),
    ],
)
def test_may_place_agrees_with_choose_worker(wanted: set[S], hours: float, placeable: bool) -> None:
    workers = [worker("a", S.GENERALIST, free=5.0), worker("b", S.MENTAL_HEALTH, free=3.0)]
    assert may_place(wanted, hours, open_room(workers, TODAY)) is placeable
    needs = {
        S.GENERALIST: SupportNeed.BENEFITS,
        S.MENTAL_HEALTH: SupportNeed.MENTAL_HEALTH,
        S.DOMESTIC_ABUSE: SupportNeed.DOMESTIC_ABUSE,
    }
    to_place = case(*(needs[s] for s in sorted(wanted)))
    choice = choose_worker(to_place, workers, TODAY, hours=hours)
    assert isinstance(choice, Match) is placeable


def placement_fields(stored: Mapping[str, object]) -> dict[str, object]:
    return placement_of(CaseEntry.model_validate(stored))


def test_placement_fields_follow_route_needs_stage_and_raised_risk() -> None:
    entry = {"_id": "c", "route": "support", "support_needs": ["mental_health", "benefits"]}
    assert placement_fields(entry) == {"wanted": ["mental_health"], "hours": 2.0}
    raised = {**entry, "risk_signals": [{"level": "critical"}]}
    assert placement_fields(raised) == {"wanted": ["mental_health"], "hours": 3.0}
    assert placement_fields({"_id": "r", "route": "reconnection"}) == {
        "wanted": ["reconnection"],
        "hours": 2.0,
    }
    assert placement_fields({"_id": "g", "support_needs": []})["wanted"] == ["generalist"]
