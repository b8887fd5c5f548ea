"""A pass's allocations recorded together, against the real database: each case is recorded
once, only while it waits (a case closed after its claim is not), and a repeat records
nothing; entering arrivals costs no read of what was just inserted."""

from __future__ import annotations

import pytest

from services.allocation.allocator import allocated
from services.allocation.app import AllocationRuntime
from services.allocation.records import CaseEntry, Caseworker
from services.allocation.specialisms import Specialism
from shared.events.envelope import make_event
from tests.allocation.helpers import START

pytestmark = pytest.mark.integration


async def test_records_land_once_and_only_on_waiting_cases(runtime: AllocationRuntime) -> None:
    store = runtime.allocation_store
    worker = Caseworker(
        worker_id="gen",
        organisation="derby",
        team_id="team-a",
        specialisms=[Specialism.GENERALIST],
        contracted_hours=20.0,
        max_caseload=10,
        free_hours=20.0,
        free_slots=10,
    )
    assert await store.add_worker(worker)
    arrivals = [
        (CaseEntry(case_id=f"c-{i}", organisation="derby", waiting_since=START), f"e-{i}")
        for i in range(3)
    ]
    waiting = await store.enter_many(arrivals)
    assert [e.case_id for e in waiting] == ["c-0", "c-1", "c-2"]
    assert waiting == [await store.get_case(f"c-{i}") for i in range(3)]  # as stored
    await store.record_closure("c-1", START, "withdrawn", "closed-1")  # after its claim

    records = []
    for entry in waiting:
        claimed = await store.claim("derby", "gen", entry.case_id, entry.hours, START)
        assert claimed is not None
        allocation, data = allocated(entry, claimed, None, START)
        event = make_event(data, source="tests", organisation="derby")
        records.append((entry.case_id, allocation, event))

    assert await store.record_allocations(records) == {"c-0", "c-2"}
    assert await store.record_allocations(records) == set()  # a repeat records nothing
    for case_id in ("c-0", "c-2"):
        raw = await store.cases.collection.find_one({"_id": case_id})
        assert raw is not None and raw["status"] == "allocated"
        assert raw["allocation"]["worker_id"] == "gen" and len(raw["history"]) == 1
    closed = await store.get_case("c-1")
    assert closed is not None and closed.status == "closed" and closed.allocation is None
