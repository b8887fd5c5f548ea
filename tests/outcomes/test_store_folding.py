"""The reporting store on the real database: histories folded a poll at a time equal the whole
fold, whatever arrives late, twice, or from two writers at once."""

from __future__ import annotations

import asyncio
import random

from services.outcomes.folding import whole
from services.outcomes.store import OutcomesStore
from shared.mongo import Database
from tests.unit.outcomes.history_builder import fact


def _facts(case_id: str, days: int = 12) -> list:
    facts = [
        fact("ReferralReceived", case_id, "2026-01-01", person_id=f"p-{case_id}"),
        fact("CaseAllocated", case_id, "2026-01-02", route="support", stage="stage_1",
             team_id="t1", lead_worker_id="w1"),
    ]  # fmt: skip
    for n in range(3, days + 3):
        on = f"2026-01-{n:02d}"
        facts.append(fact("ContactLogged", case_id, on, contact_on=on, duration_minutes=n))
    return facts


async def _stored(store: OutcomesStore, case_id: str) -> dict:
    document = await store.rollups["case"].find_one({"_id": case_id})
    assert document is not None
    return {k: v for k, v in document.items() if k != "_id"}


async def test_polls_in_order_out_of_order_and_repeated_give_the_whole_fold(
    scratch_db: Database,
) -> None:
    store = OutcomesStore(scratch_db)
    await store.ensure_indexes()
    facts = _facts("c1")
    late = facts[5]
    in_order = [f for f in facts if f is not late]
    for start in range(0, len(in_order), 3):
        await store.record(in_order[start : start + 3])
    await store.record([late])  # out of order: folded whole
    await store.record(facts[2:6])  # redelivered: nothing changes
    assert await _stored(store, "c1") == whole("case", "c1", facts)
    assert await store.caught_up(len(facts))


async def test_a_poll_that_stopped_before_folding_is_folded_on_redelivery(
    scratch_db: Database,
) -> None:
    store = OutcomesStore(scratch_db)
    facts = _facts("c2")
    await store.record(facts[:4])
    await store.append(facts[4:8])  # stored, then the process stopped before folding
    await store.record(facts[4:8])  # the consumer reads the same records again
    await store.record(facts[8:])
    assert await _stored(store, "c2") == whole("case", "c2", facts)


async def test_two_writers_of_one_case_at_once_end_with_every_fact(scratch_db: Database) -> None:
    """Two instances of the service, each folding its own partition's facts of one case."""
    first, second = OutcomesStore(scratch_db), OutcomesStore(scratch_db)
    facts = _facts("c3", days=20)
    await first.record(facts[:2])
    rest = facts[2:]
    random.Random(3).shuffle(rest)
    half = len(rest) // 2
    await asyncio.gather(
        *(first.record([f]) for f in rest[:half]),
        *(second.record([f]) for f in rest[half:]),
    )
    assert await _stored(first, "c3") == whole("case", "c3", facts)
