"""The backfill rule: the head of a pool keeps the next room that fits it (issue 20).

"Allocation can starve the most urgent case: a critical case (eviction date set, homeless in
7 days) that needs 3 hours waited while each freed gap of 2 hours went to lower-scored cases.
The head of the list must get the next capacity that fits it, and lower cases may fill a gap
only when that does not delay it (as schedulers do with backfilling)."
"""

from __future__ import annotations

from datetime import date

from services.allocation.backfill import Held, Placed, Reserved, Unplaced, nearest, plan
from services.allocation.matching import CaseToPlace, WorkerView
from services.allocation.specialisms import Specialism as S
from shared.codes import RiskLevel, Route, Stage, SupportNeed

TODAY = date(2026, 3, 2)


def worker(
    worker_id: str,
    *skills: S,
    free: float,
    slots: int = 5,
    contract: float = 10.0,
    team: str = "team-a",
) -> WorkerView:
    return WorkerView(
        worker_id,
        team,
        frozenset(skills or (S.GENERALIST,)),
        free,
        slots,
        contracted_hours=contract,
        max_caseload=10,
    )


def critical(case_id: str = "crit") -> CaseToPlace:
    """Needs 3 h a week: the top of Stage 1's range for a critical risk."""
    return CaseToPlace(case_id, Route.SUPPORT, (), Stage.STAGE_1, RiskLevel.CRITICAL)


def ordinary(case_id: str, *needs: SupportNeed) -> CaseToPlace:
    """Needs 2 h a week."""
    return CaseToPlace(case_id, Route.SUPPORT, needs, Stage.STAGE_1, None)


def test_two_hour_gaps_are_not_given_to_lower_cases_on_the_worker_kept_for_the_head() -> None:
    """The issue's own example: the critical case needs 3 h; two workers have 2 h gaps."""
    workers = [worker("cw-asha", free=2.0), worker("cw-bea", free=2.0)]
    result = plan([critical(), ordinary("low-1"), ordinary("low-2")], workers, TODAY)

    head = result.decisions["crit"]
    assert isinstance(head, Reserved) and head.worker_id == "cw-asha"
    assert head.reason == (
        "no generalist caseworker with 3 h free; reserved: the next 3 h free on cw-asha go to "
        "this case (2 h free now)"
    )
    # A gap on another worker cannot delay the head: a lower case may fill it.
    assert result.decisions["low-1"] == Placed("cw-bea", "team-a", 2.0)
    held = result.decisions["low-2"]
    assert isinstance(held, Held) and held.blocked and held.head_id == "crit"
    assert held.reason == (
        "held for the head of the list: crit needs 3 h; cw-asha has 2 h free and is kept for it"
    )
    assert result.reservations == {"cw-asha": "crit"}


def test_the_head_takes_the_first_room_that_fits_it() -> None:
    """When 3 h are free on one worker the critical case goes there, before lower cases."""
    workers = [worker("cw-asha", free=3.0), worker("cw-bea", free=2.0)]
    result = plan([critical(), ordinary("low-1"), ordinary("low-2")], workers, TODAY)
    assert result.decisions["crit"] == Placed("cw-asha", "team-a", 3.0)
    assert result.decisions["low-1"] == Placed("cw-bea", "team-a", 2.0)
    # No room left: the next case heads the list now, and keeps the worker nearest to room.
    assert result.reservations == {"cw-asha": "low-2"}


def test_the_reserved_worker_is_the_one_nearest_to_having_room() -> None:
    workers = [
        worker("cw-a", free=0.5),
        worker("cw-b", free=2.5),
        worker("cw-c", free=2.5, slots=0),  # has the hours but needs a case to close first
        worker("cw-small", free=2.75, contract=2.75),  # could never hold 3 h: no use to it
    ]
    kept = nearest(critical(), workers, 3.0)
    assert kept is not None and kept.worker_id == "cw-b"
    assert nearest(critical(), [worker("cw-small", free=2.0, contract=2.75)], 3.0) is None


def test_capacity_the_head_could_never_use_is_left_to_lower_cases() -> None:
    """A worker whose contract is shorter than the head's hours is not held for it."""
    workers = [worker("cw-part", free=2.0, contract=2.0)]
    result = plan([critical(), ordinary("low-1")], workers, TODAY)
    assert isinstance(result.decisions["crit"], Unplaced)
    assert result.decisions["low-1"] == Placed("cw-part", "team-a", 2.0)


def test_other_pools_are_not_held_by_a_head() -> None:
    """A mental-health head keeps a mental-health worker; generalist cases go on."""
    workers = [
        worker("cw-mia", S.MENTAL_HEALTH, free=2.0, team="team-mh"),
        worker("cw-gen", S.GENERALIST, free=4.0),
    ]
    head = CaseToPlace(
        "mh-crit", Route.SUPPORT, (SupportNeed.MENTAL_HEALTH,), Stage.STAGE_1, RiskLevel.CRITICAL
    )
    result = plan(
        [head, ordinary("mh-low", SupportNeed.MENTAL_HEALTH), ordinary("gen-low")],
        workers,
        TODAY,
    )
    reserved = result.decisions["mh-crit"]
    assert isinstance(reserved, Reserved) and reserved.team_id == "team-mh"
    held = result.decisions["mh-low"]
    assert isinstance(held, Held) and held.blocked and held.team_id == "team-mh"
    assert result.decisions["gen-low"] == Placed("cw-gen", "team-a", 2.0)


def test_a_case_that_fits_nowhere_anyway_keeps_its_own_reason() -> None:
    """Behind a head, but no worker has its hours even without the reservation."""
    workers = [worker("cw-asha", free=1.0)]
    result = plan([critical(), ordinary("low-1")], workers, TODAY)
    held = result.decisions["low-1"]
    assert isinstance(held, Held) and not held.blocked
    assert held.reason == "no generalist caseworker with 2 h free"


def test_a_refreshed_worker_is_planned_as_the_database_has_it() -> None:
    """A claim that lost a race: the plan looks again with the worker as it is now."""
    result = plan([], [worker("cw-asha", free=4.0), worker("cw-bea", free=2.0)], TODAY)
    result.refresh("cw-asha", worker("cw-asha", free=1.0))
    assert result.offer(critical()) == Reserved(
        "crit", "cw-bea", "team-a", 3.0, 2.0, "no generalist caseworker with 3 h free"
    )
    result.refresh("cw-bea", None)  # gone: nothing is kept on it any more
    after = result.offer(ordinary("low-1"))
    assert isinstance(after, Reserved) and after.worker_id == "cw-asha"
