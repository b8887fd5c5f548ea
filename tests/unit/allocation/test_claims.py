"""A pass's placements grouped into one claim per worker, and the worker a claim leaves (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.allocation.backfill import Placed, plan
from services.allocation.claims import CaseClaim, WorkerClaim, group_claims, with_claim
from services.allocation.matching import CaseToPlace, WorkerView
from services.allocation.records import Caseworker
from services.allocation.specialisms import Specialism
from shared.codes import Route, SupportNeed
from shared.ids import stable_id

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)


def test_cases_are_grouped_by_worker_in_placement_order() -> None:
    placed = [
        CaseClaim("c1", "gen", 2.0),
        CaseClaim("c2", "mia", 3.0),
        CaseClaim("c3", "gen", 1.5),
        CaseClaim("c4", "mia", 2.0),
        CaseClaim("c5", "gen", 2.0),
    ]
    claims = group_claims(placed)
    assert [c.worker_id for c in claims] == ["gen", "mia"]  # by first placement
    gen, mia = claims
    assert gen.case_ids == ["c1", "c3", "c5"] and mia.case_ids == ["c2", "c4"]
    assert (gen.hours, gen.slots) == (5.5, 3)
    assert (mia.hours, mia.slots) == (5.0, 2)


def test_a_case_placed_twice_is_claimed_once_on_its_first_worker() -> None:
    claims = group_claims(
        [CaseClaim("c1", "gen", 2.0), CaseClaim("c1", "mia", 2.0), CaseClaim("c2", "mia", 1.0)]
    )
    assert claims == [
        WorkerClaim("gen", (CaseClaim("c1", "gen", 2.0),)),
        WorkerClaim("mia", (CaseClaim("c2", "mia", 1.0),)),
    ]


def test_nothing_placed_claims_nothing() -> None:
    assert group_claims([]) == []


def test_one_claim_per_worker_however_many_cases_the_plan_places() -> None:
    workers = [
        WorkerView("gen", "team-a", frozenset({Specialism.GENERALIST}), 40.0, 30, 0),
        WorkerView("mia", "team-a", frozenset({Specialism.MENTAL_HEALTH}), 40.0, 30, 0),
    ]
    cases = [
        CaseToPlace(
            f"c{n}",
            Route.SUPPORT,
            (SupportNeed.MENTAL_HEALTH,) if n % 2 else (SupportNeed.BENEFITS,),
        )
        for n in range(20)
    ]
    decisions = plan(cases, workers, TODAY).decisions
    placed = [
        CaseClaim(case_id, d.worker_id, d.hours)
        for case_id, d in decisions.items()
        if isinstance(d, Placed)
    ]
    claims = group_claims(placed)
    assert len(placed) == 20 and len(claims) == 2
    assert sorted(c for claim in claims for c in claim.case_ids) == sorted(decisions)
    for claim in claims:  # the plan never places more than the worker's room
        assert claim.hours <= 40.0 and claim.slots <= 30


def test_a_landed_claim_leaves_the_worker_as_the_update_wrote_it() -> None:
    worker = Caseworker(
        worker_id="gen",
        organisation="derby-homes",
        team_id="team-a",
        contracted_hours=10.0,
        max_caseload=5,
        free_hours=8.0,
        free_slots=4,
        open_cases=1,
        cases=["old"],
        case_hours={stable_id("old"): 2.0},
        claimed_at={stable_id("old"): AT},
    )
    claim = WorkerClaim("gen", (CaseClaim("c1", "gen", 2.0), CaseClaim("c2", "gen", 3.0)))
    after = with_claim(worker, claim, AT)
    assert (after.free_hours, after.free_slots, after.open_cases) == (3.0, 2, 3)
    assert after.cases == ["old", "c1", "c2"]
    assert (after.hours_for("c1"), after.hours_for("c2"), after.hours_for("old")) == (2.0, 3.0, 2.0)
    assert after.claimed_at_for("c2") == AT
    assert worker.cases == ["old"] and worker.free_hours == 8.0  # the read view is unchanged
