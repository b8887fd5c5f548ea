"""A pass's placements claimed with one guarded update per worker, against the real database:
the update FerretDB runs (`$addToSet` with `$each`, `cases $nin`, the sum of the hours) lands
whole or not at all and never twice; a pass placing many cases costs the caseworker commands
a pass placing two does; a worker whose room was taken between the plan and the claim gets
its cases claimed one by one, and nothing is over-committed; a batch handled again after a
crash between the claims and the records claims nothing twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest

from services.allocation.app import AllocationRuntime
from services.allocation.claims import CaseClaim, WorkerClaim
from services.allocation.records import CaseEntry, Caseworker
from services.allocation.specialisms import Specialism
from shared.clock import ManualClock
from shared.ids import stable_id
from shared.kafka import ensure_topics
from shared.topics import Topic, topic_name
from tests.allocation.helpers import DERBY, START, Service, records_of
from tests.database_commands import database_commands

pytestmark = pytest.mark.integration


def waiting(case_id: str) -> tuple[CaseEntry, str]:
    """A generalist case (2 h a week) entered as waiting, with the event that entered it."""
    fields = {
        "organisation": DERBY,
        "person_id": f"person-{case_id}",
        "route": "support",
        "stage": "stage_1",
        "support_needs": ["benefits"],
        "waiting_since": START,
    }
    return CaseEntry.model_validate({"_id": case_id, **fields}), f"assessed-{case_id}"


def caseworker_commands(service: str) -> int:
    return database_commands(service)["caseworkers"]


async def cost(service: Service, step: Callable[[], Awaitable[Any]]) -> int:
    name = service.runtime.settings.service_name
    before = caseworker_commands(name)
    await step()
    return caseworker_commands(name) - before


def committed_consistently(worker: dict[str, Any]) -> bool:
    """Never over-committed, and the free hours and slots are what the cases held leave."""
    held = sum(worker["case_hours"].values()) if worker.get("case_hours") else 0.0
    return (
        worker["free_hours"] >= 0
        and worker["free_slots"] >= 0
        and worker["free_hours"] == worker["contracted_hours"] - held
        and worker["open_cases"] == len(worker["cases"])
        and worker["free_slots"] == worker["max_caseload"] - len(worker["cases"])
    )


def case_events(service: Service) -> str:
    return topic_name(Topic.CASE_EVENTS, service.runtime.settings.topic_prefix)


async def raw_workers(runtime: AllocationRuntime) -> dict[str, dict[str, Any]]:
    collection = runtime.allocation_store.workers.collection
    return {d["worker_id"]: d async for d in collection.find({"organisation": DERBY})}


# --- the update itself --------------------------------------------------------------------------


def worker(worker_id: str, hours: float, slots: int, cases: Sequence[str] = ()) -> Caseworker:
    held = {stable_id(c): 1.0 for c in cases}
    return Caseworker(
        worker_id=worker_id,
        organisation=DERBY,
        team_id="team-a",
        specialisms=[Specialism.GENERALIST],
        contracted_hours=hours + len(cases),
        max_caseload=slots + len(cases),
        free_hours=hours,
        free_slots=slots,
        open_cases=len(cases),
        cases=list(cases),
        case_hours=held,
    )


def claim(worker_id: str, *cases: tuple[str, float]) -> WorkerClaim:
    return WorkerClaim(worker_id, tuple(CaseClaim(c, worker_id, h) for c, h in cases))


async def test_a_workers_claim_lands_whole_or_not_at_all_and_once(
    runtime: AllocationRuntime,
) -> None:
    store = runtime.allocation_store
    read = {
        w.worker_id: w
        for w in (
            worker("gen", 10.0, 5),
            worker("mia", 4.0, 5),  # too few hours for both its cases
            worker("tia", 10.0, 1),  # one slot for two cases
            worker("rex", 10.0, 5, cases=["held"]),  # holds one of its cases already
            worker("ted", 10.0, 5),  # moved to another team since the pass read it
        )
    }
    for w in read.values():
        assert await store.add_worker(w)
    await store.set_worker_fields(DERBY, "ted", {"team_id": "team-b"})
    claims = [
        claim("gen", ("c1", 2.0), ("c2", 3.0)),
        claim("mia", ("c3", 3.0), ("c4", 2.0)),
        claim("tia", ("c5", 2.0), ("c6", 2.0)),
        claim("rex", ("c7", 2.0), ("held", 2.0)),
        claim("ted", ("c8", 2.0)),
    ]
    assert await store.claim_many(DERBY, claims, START, read) == {"gen"}

    after = await raw_workers(runtime)
    gen = after["gen"]
    assert (gen["free_hours"], gen["free_slots"], gen["open_cases"]) == (5.0, 3, 2)
    assert gen["cases"] == ["c1", "c2"]
    stored = Caseworker.model_validate(gen)
    assert (stored.hours_for("c1"), stored.hours_for("c2")) == (2.0, 3.0)
    assert stored.claimed_at_for("c1") is not None
    assert (after["mia"]["free_hours"], after["mia"]["cases"]) == (4.0, [])
    assert (after["tia"]["free_slots"], after["tia"]["cases"]) == (1, [])
    assert (after["rex"]["free_hours"], after["rex"]["cases"]) == (10.0, ["held"])
    assert (after["ted"]["free_hours"], after["ted"]["cases"]) == (10.0, [])
    assert all(committed_consistently(w) for w in after.values())

    # The same claims again (a redelivered batch): nothing is claimed twice.
    assert await store.claim_many(DERBY, claims, START, read) == set()
    assert await raw_workers(runtime) == after
    # One worker alone goes as one guarded update, read back.
    assert await store.claim_many(DERBY, [claim("mia", ("c3", 3.0))], START, read) == {"mia"}
    mia = (await raw_workers(runtime))["mia"]
    assert (mia["free_hours"], mia["cases"]) == (1.0, ["c3"])


async def test_claims_racing_for_one_workers_room_never_over_commit(
    runtime: AllocationRuntime,
) -> None:
    """Grouped claims of two replicas, and single ones (an HTTP reallocation), at once."""
    store = runtime.allocation_store
    read = {"solo": worker("solo", 9.0, 10)}
    assert await store.add_worker(read["solo"])
    grouped = [
        store.claim_many(DERBY, [claim("solo", (f"g{n}-a", 2.0), (f"g{n}-b", 2.0))], START, read)
        for n in range(6)
    ]
    single = [store.claim(DERBY, "solo", f"s{n}", 2.0, START) for n in range(6)]
    repeats = [
        store.claim_many(DERBY, [claim("solo", ("g0-a", 2.0), ("g0-b", 2.0))], START, read)
        for _ in range(3)
    ]
    await asyncio.gather(*grouped, *single, *repeats)
    solo = (await raw_workers(runtime))["solo"]
    assert committed_consistently(solo)
    assert solo["free_hours"] == 1.0  # 9 h hold four 2 h cases, whoever won them
    held = solo["cases"]
    assert len(held) == len(set(held)) == 4
    for n in range(6):  # a worker's claim is all of its cases or none
        assert (f"g{n}-a" in held) == (f"g{n}-b" in held)


# --- a pass ------------------------------------------------------------------------------------


async def started(make_settings) -> Service:
    settings = make_settings("allocation")
    await ensure_topics(settings)
    service = await Service(settings, ManualClock(START)).start(background_loops=False)
    await service.runtime.allocation_store.ensure_indexes()
    await service.team()
    return service


async def test_a_pass_claims_many_cases_in_the_commands_of_two(make_settings) -> None:
    service = await started(make_settings)
    try:
        await service.worker("gen", "generalist", hours=30.0, caseload=15)
        await service.worker("mia", "generalist", hours=30.0, caseload=15)
        store, allocator = service.runtime.allocation_store, service.runtime.allocator

        async def pass_over(case_ids: list[str]) -> int:
            await store.enter_many([waiting(c) for c in case_ids])
            return await cost(service, lambda: allocator.request(DERBY))

        two = await pass_over(["a-0", "a-1"])
        sixteen = await pass_over([f"b-{n:02d}" for n in range(16)])
        assert sixteen == two == 2  # the workers read, and one bulk of their claims

        after = await raw_workers(service.runtime)
        held = after["gen"]["cases"] + after["mia"]["cases"]
        assert sorted(held) == sorted(["a-0", "a-1", *(f"b-{n:02d}" for n in range(16))])
        assert all(committed_consistently(w) for w in after.values())
        for case_id in held:
            case = await store.get_case(case_id)
            assert case is not None and case.status == "allocated"
            assert case_id in after[case.lead_worker_id or ""]["cases"]
    finally:
        await service.stop()


async def test_a_worker_whose_room_was_taken_meanwhile_gets_its_cases_one_by_one(
    make_settings, topic_reader
) -> None:
    service = await started(make_settings)
    try:
        # Room for exactly four 2 h cases, two on each.
        await service.worker("gen", "generalist", hours=4.0, caseload=10)
        await service.worker("mia", "generalist", hours=4.0, caseload=10)
        store, allocator = service.runtime.allocation_store, service.runtime.allocator
        await store.enter_many([waiting(f"c{n}") for n in range(4)])
        planned: list[WorkerClaim] = []
        bulk = store.claim_many

        async def after_a_racing_claim(
            organisation: str, claims: Sequence[WorkerClaim], now: Any, read: Any
        ) -> set[str]:
            # Between the plan and the claims, a reallocation takes 2 h of the first worker.
            planned.extend(claims)
            assert await store.claim(organisation, claims[0].worker_id, "moved-in", 2.0, now)
            return await bulk(organisation, claims, now, read)

        store.claim_many = after_a_racing_claim  # type: ignore[method-assign]
        await allocator.request(DERBY)
        store.claim_many = bulk  # type: ignore[method-assign]

        assert [len(c.cases) for c in planned] == [2, 2]
        robbed, other = planned
        after = await raw_workers(service.runtime)
        assert all(committed_consistently(w) for w in after.values())
        assert after[other.worker_id]["cases"] == other.case_ids  # its claim landed whole
        # The robbed worker's best-ranked case still fits it; the other waits.
        first, second = robbed.case_ids
        assert after[robbed.worker_id]["cases"] == ["moved-in", first]
        assert after[robbed.worker_id]["free_hours"] == 0.0
        for case_id in (*other.case_ids, first, second):
            case = await store.get_case(case_id)
            assert case is not None
            assert case.status == ("waiting" if case_id == second else "allocated")
        reader = await topic_reader(case_events(service))
        await reader.read_until(lambda r: len(records_of(r, "CaseAllocated")) >= 3)
        await reader.settle(0.5)
        events = [data for _, data in records_of(reader.records, "CaseAllocated")]
        assert Counter(e["case_id"] for e in events) == Counter([*other.case_ids, first])
    finally:
        await service.stop()


async def test_a_batch_handled_again_after_a_crash_claims_nothing_twice(
    make_settings, topic_reader
) -> None:
    service = await started(make_settings)
    try:
        await service.worker("gen", "generalist", hours=10.0, caseload=10)
        await service.worker("mia", "generalist", hours=10.0, caseload=10)
        store, allocator = service.runtime.allocation_store, service.runtime.allocator
        cases = [f"c{n}" for n in range(6)]
        entries = await store.enter_many([waiting(c) for c in cases])
        record = store.record_allocations

        async def crash(*_: Any) -> set[str]:
            raise ConnectionError("the replica died after its claims, before its records")

        store.record_allocations = crash  # type: ignore[method-assign]
        with pytest.raises(ConnectionError):
            await allocator.request(DERBY)
        store.record_allocations = record  # type: ignore[method-assign]
        claimed = await raw_workers(service.runtime)
        assert sorted(claimed["gen"]["cases"] + claimed["mia"]["cases"]) == cases

        # The batch again (its redelivery), then a recovery pass: claims completed, not repeated.
        again = await store.enter_many([waiting(c) for c in cases])
        assert [e.case_id for e in again] == [e.case_id for e in entries]  # still waiting
        writes = await cost(service, lambda: allocator.request(DERBY, recover=True))
        assert writes == 1  # the workers read; no claim written
        after = await raw_workers(service.runtime)
        assert after == claimed  # nothing claimed again, nothing released
        assert all(committed_consistently(w) for w in after.values())
        for case_id in cases:
            case = await store.get_case(case_id)
            assert case is not None and case.status == "allocated"
            assert case.lead_worker_id is not None
            assert after[case.lead_worker_id]["cases"].count(case_id) == 1
        reader = await topic_reader(case_events(service))
        await reader.read_until(lambda r: len(records_of(r, "CaseAllocated")) >= 6)
        await reader.settle(0.5)
        events = [data for _, data in records_of(reader.records, "CaseAllocated")]
        assert Counter(e["case_id"] for e in events) == Counter(cases)
    finally:
        await service.stop()


async def test_a_claim_that_landed_but_counted_as_failed_is_completed_not_repeated(
    make_settings,
) -> None:
    """Another write can overwrite the mark a bulk update leaves before the unit of work reads
    which landed: the fallback then finds the cases on the worker and claims none again."""
    service = await started(make_settings)
    try:
        await service.worker("gen", "generalist", hours=4.0, caseload=10)
        await service.worker("mia", "generalist", hours=4.0, caseload=10)
        store, allocator = service.runtime.allocation_store, service.runtime.allocator
        cases = [f"c{n}" for n in range(4)]
        await store.enter_many([waiting(c) for c in cases])
        bulk = store.claim_many

        async def landed_but_unseen(
            organisation: str, claims: Sequence[WorkerClaim], now: Any, read: Any
        ) -> set[str]:
            await bulk(organisation, claims, now, read)
            return set()

        store.claim_many = landed_but_unseen  # type: ignore[method-assign]
        await allocator.request(DERBY)
        store.claim_many = bulk  # type: ignore[method-assign]

        after = await raw_workers(service.runtime)
        assert all(committed_consistently(w) for w in after.values())
        assert sorted(after["gen"]["cases"] + after["mia"]["cases"]) == cases  # once each
        assert after["gen"]["free_hours"] == after["mia"]["free_hours"] == 0.0
        for case_id in cases:
            case = await store.get_case(case_id)
            assert case is not None and case.status == "allocated"
            assert case_id in after[case.lead_worker_id or ""]["cases"]
    finally:
        await service.stop()
