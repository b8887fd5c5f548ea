"""The store's typed reads and its writes through the shared unit of work, against the real
database: the stored layout stays as it was, and the pass state's versions still tell a
settled organisation from one whose capacity may have grown."""

from __future__ import annotations

from datetime import date

import pytest

from services.allocation.allocator import settled
from services.allocation.app import AllocationRuntime
from services.allocation.records import CaseEntry, Caseworker, StoredRiskSignal
from services.allocation.specialisms import Specialism
from services.allocation.store import AllocationStore, RiskSignalWrite
from shared.codes import RiskLevel
from tests.allocation.helpers import START

pytestmark = pytest.mark.integration

TODAY = date(2026, 3, 2)


async def test_settled_until_capacity_may_grow_and_a_stale_pass_cannot_settle(
    runtime: AllocationRuntime,
) -> None:
    store = runtime.allocation_store
    assert not settled(await store.get_state("derby"), TODAY)
    await store.settle("derby", 0, TODAY)  # the first pass creates the state
    first = await store.get_state("derby")
    assert settled(first, TODAY)
    assert first is not None
    await store.capacity_may_grow("derby")
    assert not settled(await store.get_state("derby"), TODAY)
    await store.settle("derby", first.version, TODAY)  # a pass that read the older version
    assert not settled(await store.get_state("derby"), TODAY)
    current = await store.get_state("derby")
    assert current is not None
    await store.settle("derby", current.version, TODAY)
    assert settled(await store.get_state("derby"), TODAY)
    assert await store.known_organisations() == ["derby"]


async def test_claim_and_release_come_back_typed_and_happen_once(
    runtime: AllocationRuntime,
) -> None:
    store = runtime.allocation_store
    worker = Caseworker(
        worker_id="gen",
        organisation="derby",
        team_id="team-a",
        specialisms=[Specialism.GENERALIST],
        contracted_hours=4.0,
        max_caseload=5,
        free_hours=4.0,
        free_slots=5,
    )
    assert await store.add_worker(worker)
    assert not await store.add_worker(worker)  # the id exists
    claimed = await store.claim("derby", "gen", "case-1", 2.0, START)
    assert claimed is not None and claimed.holds("case-1")
    assert (claimed.free_hours, claimed.free_slots, claimed.hours_for("case-1")) == (2.0, 4, 2.0)
    assert claimed.claimed_at_for("case-1") == START
    assert await store.claim("derby", "gen", "case-1", 2.0, START) is None  # claimed once
    assert await store.change_hours("derby", "gen", "case-1", 3.0) == 3.0
    released = await store.release("derby", "gen", "case-1")
    assert released is not None and not released.holds("case-1")
    assert (released.free_hours, released.free_slots, released.open_cases) == (4.0, 5, 0)
    assert await store.release("derby", "gen", "case-1") is None  # released once


async def test_entries_keep_the_stored_layout_and_a_stub_keeps_its_signals(
    runtime: AllocationRuntime,
) -> None:
    store: AllocationStore = runtime.allocation_store
    signal = StoredRiskSignal(level=RiskLevel.CRITICAL, alert_id="alert-1", at=START)
    await store.add_risk_signals([RiskSignalWrite("stub", signal, "alert-event", create=True)])
    raw_stub = await store.cases.collection.find_one({"_id": "stub"})
    assert raw_stub is not None and "status" not in raw_stub and "case_id" not in raw_stub

    arrivals = [
        (CaseEntry(case_id=case_id, organisation="derby", waiting_since=START), f"e-{case_id}")
        for case_id in ("stub", "new", "new")  # the same case twice: the first stands
    ]
    waiting = await store.enter_many(arrivals)
    assert sorted(e.case_id for e in waiting) == ["new", "stub"]
    stub = next(e for e in waiting if e.case_id == "stub")
    assert [s.alert_id for s in stub.risk_signals] == ["alert-1"]
    assert stub.hours == 3.0  # placed with the critical risk of the alert that came first
    raw = await store.cases.collection.find_one({"_id": "new"})
    assert raw is not None
    assert raw["status"] == "waiting" and raw["route"] == "support"
    assert raw["wanted"] == ["generalist"] and raw["hours"] == 2.0
    assert "case_id" not in raw and "allocation" not in raw
    again = await store.enter_many(arrivals[:2])  # a redelivered batch: still waiting, once
    assert sorted(e.case_id for e in again) == ["new", "stub"]
    assert (await store.get_case("stub")) == stub
