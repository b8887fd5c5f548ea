"""The backfill rule over random histories: arrivals of cases of random sizes (hours) and
priorities, and closures that free capacity, each followed by an allocation pass (issue 20).

"The head of the list must get the next capacity that fits it, and lower cases may fill a gap
only when that does not delay it (as schedulers do with backfilling)."

Checked after every pass:
- no worker is over-committed (hours and caseload);
- no case waits while a worker of its pool has room for it, unless that worker is kept for a
  case ranked above it (the head gets the next room that fits it);
- a head is never made to wait longer by a case ranked below it: while it waits, what it still
  misses on the worker nearest to taking it never grows, unless a case ranked above it took or
  reserved a worker of its pool;
and at the end, closing cases as they are placed, every case is placed (capacity suffices:
every pool has a worker whose contract holds its largest case).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from services.allocation.backfill import Held, Placed, Reserved, plan
from services.allocation.matching import CaseToPlace, WorkerView
from services.allocation.specialisms import Specialism as S
from shared.codes import RiskLevel, Route, Stage, SupportNeed

TODAY = date(2026, 3, 2)
SKILLS = (S.GENERALIST, S.MENTAL_HEALTH, S.DOMESTIC_ABUSE)
NEEDS = {
    S.GENERALIST: (),
    S.MENTAL_HEALTH: (SupportNeed.MENTAL_HEALTH,),
    S.DOMESTIC_ABUSE: (SupportNeed.DOMESTIC_ABUSE,),
    "both": (SupportNeed.MENTAL_HEALTH, SupportNeed.DOMESTIC_ABUSE),
}
# (stage, risk) -> 1, 2 or 3 hours a week (matching.target_hours)
SIZES = {
    1.0: (Stage.STAGE_3, None),
    2.0: (Stage.STAGE_1, None),
    3.0: (Stage.STAGE_1, RiskLevel.CRITICAL),
}


@dataclass
class Waiting:
    case: CaseToPlace
    score: int
    seq: int

    @property
    def key(self) -> tuple[int, int]:
        return (-self.score, self.seq)


@dataclass
class World:
    workers: dict[str, WorkerView]
    waiting: dict[str, Waiting] = field(default_factory=dict)
    allocated: dict[str, tuple[str, float]] = field(default_factory=dict)
    seq: int = 0

    def ranked(self) -> list[Waiting]:
        return sorted(self.waiting.values(), key=lambda w: w.key)

    def pool(self, case: CaseToPlace) -> set[str]:
        return {w.worker_id for w in self.workers.values() if w.specialisms & case.wanted}

    def run_pass(self) -> dict[str, object]:
        ranked = self.ranked()
        result = plan([w.case for w in ranked], list(self.workers.values()), TODAY)
        for item in ranked:
            decision = result.decisions[item.case.case_id]
            if isinstance(decision, Placed):
                worker = self.workers[decision.worker_id]
                self.workers[worker.worker_id] = replace(
                    worker,
                    free_hours=worker.free_hours - decision.hours,
                    free_slots=worker.free_slots - 1,
                    open_cases=worker.open_cases + 1,
                )
                self.allocated[item.case.case_id] = (worker.worker_id, decision.hours)
                del self.waiting[item.case.case_id]
        self.check_capacity()
        return dict(result.decisions)

    def close(self, case_id: str) -> None:
        worker_id, hours = self.allocated.pop(case_id)
        worker = self.workers[worker_id]
        self.workers[worker_id] = replace(
            worker,
            free_hours=worker.free_hours + hours,
            free_slots=worker.free_slots + 1,
            open_cases=worker.open_cases - 1,
        )

    def check_capacity(self) -> None:
        for worker in self.workers.values():
            held = [h for w, h in self.allocated.values() if w == worker.worker_id]
            assert worker.free_hours >= 0 and worker.free_slots >= 0, worker
            assert worker.free_hours + sum(held) == worker.contracted_hours
            assert worker.open_cases == len(held) <= (worker.max_caseload or 0)


def shortfall(decision: Reserved) -> float:
    return max(0.0, decision.hours - decision.free_hours)


workers_strategy = st.lists(
    st.tuples(
        st.sets(st.sampled_from(SKILLS), min_size=1, max_size=3),
        st.sampled_from([1.0, 2.0, 2.5, 3.0, 4.0, 5.0]),
        st.integers(1, 3),
    ),
    min_size=1,
    max_size=4,
)
steps_strategy = st.lists(
    st.one_of(
        st.tuples(
            st.just("arrive"),
            st.sampled_from([S.GENERALIST, S.GENERALIST, *NEEDS]),  # one pool more often
            st.sampled_from(list(SIZES)),
            st.integers(0, 5),  # few scores: ties ranked by arrival
        ),
        st.tuples(st.just("close"), st.integers(0, 50)),
    ),
    min_size=1,
    max_size=30,
)


def make_world(drawn: list[tuple[set[S], float, int]]) -> World:
    workers = [
        WorkerView(
            f"w{n}",
            f"team-{n % 2}",
            frozenset(skills),
            hours,
            slots,
            contracted_hours=hours,
            max_caseload=slots,
        )
        for n, (skills, hours, slots) in enumerate(drawn)
    ]
    # Capacity suffices: each pool has a worker whose contract holds a 3 h case.
    for skill in SKILLS:
        if not any(skill in w.specialisms and w.free_hours >= 3.0 for w in workers):
            workers.append(
                WorkerView(f"anchor-{skill}", "team-a", frozenset({skill}), 5.0, 2, 0,
                           contracted_hours=5.0, max_caseload=2)
            )  # fmt: skip
    return World({w.worker_id: w for w in workers})


@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(workers_strategy, steps_strategy)
@example(  # the issue's own: 3 h needed at the head, a 2 h gap freed, lower cases behind it
    drawn_workers=[(set(SKILLS), 4.0, 3), (set(SKILLS), 4.0, 3)],
    steps=[
        *(("arrive", S.GENERALIST, 2.0, 0) for _ in range(4)),  # both workers full
        ("arrive", S.GENERALIST, 3.0, 5),
        ("arrive", S.GENERALIST, 2.0, 1),
        ("arrive", S.GENERALIST, 2.0, 1),
        ("close", 0),  # 2 h free on one worker
        ("close", 1),  # 2 h free on the other
        ("close", 0),
    ],
)
def test_the_head_is_never_delayed_by_lower_cases_and_every_case_is_placed(
    drawn_workers: list[tuple[set[S], float, int]], steps: list[tuple]
) -> None:
    world = make_world(drawn_workers)
    previous: dict[str, Reserved] = {}
    for step in steps:
        arrived: list[Waiting] = []
        if step[0] == "arrive":
            _, needs, hours, score = step
            stage, risk = SIZES[hours]
            world.seq += 1
            case = CaseToPlace(f"c{world.seq:03d}", Route.SUPPORT, NEEDS[needs], stage, risk)
            assert case.hours == hours
            arrived.append(Waiting(case, score, world.seq))
            world.waiting[case.case_id] = arrived[-1]
        elif world.allocated:
            world.close(sorted(world.allocated)[step[1] % len(world.allocated)])
        previous = checked_pass(world, arrived, previous)

    # Every case is placed in the end: close what is placed, one case at a time.
    for _ in range(4 * (world.seq + 1)):
        if not world.waiting:
            break
        if world.allocated:
            world.close(sorted(world.allocated)[0])
        previous = checked_pass(world, [], previous)
    assert not world.waiting, world.waiting


def checked_pass(
    world: World, arrived: list[Waiting], previous: dict[str, Reserved]
) -> dict[str, Reserved]:
    """One pass, with the properties checked; returns its reservations by case."""
    ranked_before = {w.case.case_id: w for w in world.ranked()}
    decisions = world.run_pass()
    order = sorted(ranked_before.values(), key=lambda w: w.key)
    kept = {d.worker_id: c for c, d in decisions.items() if isinstance(d, Reserved)}

    for position, item in enumerate(order):
        case = item.case
        decision = decisions[case.case_id]
        above = {w.case.case_id for w in order[:position]}
        if isinstance(decision, Placed):
            # A lower case never takes a worker kept for a case above it.
            assert kept.get(decision.worker_id) not in above, (case, decision, kept)
            continue
        # The head gets the next room that fits it: any room it fits is kept for a case
        # ranked above it.
        for worker_id in world.pool(case):
            if world.workers[worker_id].has_room(case.hours):
                assert kept.get(worker_id) in above, (case, worker_id, kept)

    # Only a case ranked above a waiting head can make it wait longer.
    for case_id, before in previous.items():
        if case_id not in world.waiting:
            continue
        item = world.waiting[case_id]
        pool = world.pool(item.case)
        overtaken = any(a.key < item.key for a in arrived) or any(
            isinstance(d, Placed | Reserved) and d.worker_id in pool
            for other, d in decisions.items()
            if ranked_before[other].key < item.key
        )
        if overtaken:
            continue
        now = decisions[case_id]
        assert isinstance(now, Reserved), (case_id, before, now)
        assert shortfall(now) <= shortfall(before), (case_id, before, now)
    return {c: d for c, d in decisions.items() if isinstance(d, Reserved)}


def test_held_cases_name_their_head() -> None:
    """A case held behind a head names it, so the list explains the wait."""
    workers = [
        WorkerView("cw-asha", "team-a", frozenset({S.GENERALIST}), 2.0, 3, contracted_hours=5.0),
    ]
    head = CaseToPlace("crit", Route.SUPPORT, (), Stage.STAGE_1, RiskLevel.CRITICAL)
    low = CaseToPlace("low", Route.SUPPORT, (), Stage.STAGE_1, None)
    result = plan([head, low], workers, TODAY)
    held = result.decisions["low"]
    assert isinstance(held, Held) and held.head_id == "crit" and held.worker_id == "cw-asha"
