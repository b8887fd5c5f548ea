"""The audit store on the real broker and database: entries appended in order on an intact
chain, redeliveries and racing writers, and tampering found by the verify function and the
verify command."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from itertools import pairwise

import pytest

from services.audit.chain import GENESIS, Problem, entry_id, verify
from services.audit.cli import main as verify_command
from services.audit.store import AuditStore
from shared.events.audit_events import UNVERIFIED
from shared.mongo import Document
from shared.settings import HearthSettings
from tests.audit.conftest import (
    CHAIN_KEY,
    AuditService,
    audit_event,
    case_allocated,
    new_entries,
    referral_received,
)
from tests.helpers import publish, wait_for

pytestmark = pytest.mark.integration

DERBY = "derby-council"
LEEDS = "leeds-council"


async def test_events_are_appended_in_order_on_an_intact_chain(
    audit_service: AuditService,
) -> None:
    derby = [audit_event(DERBY, n, record_id=f"case-{n % 4}") for n in range(1, 41)]
    leeds = [audit_event(LEEDS, n) for n in range(1, 11)]
    refused = audit_event(UNVERIFIED, 1, actor="", outcome="refused")
    await publish(audit_service.settings, *derby[:20], *leeds, refused)
    await publish(audit_service.settings, *derby[20:])

    entries = await audit_service.wait_for_entries(DERBY, 40)
    assert [e["event_id"] for e in entries] == [e.id for e in derby]
    assert [e["sequence"] for e in entries] == list(range(1, 41))
    assert [e["_id"] for e in entries[:2]] == ["derby-council:000000000001", entry_id(DERBY, 2)]
    assert entries[0]["previous_hash"] == GENESIS
    assert all(b["previous_hash"] == a["hash"] for a, b in pairwise(entries))
    # Stored as the event said, the time to the millisecond.
    first = derby[0].payload()
    assert entries[0]["actor_subject"] == first.actor_subject  # type: ignore[attr-defined]
    assert entries[0]["at"].microsecond == 123000

    store = audit_service.store
    head = await store.head(DERBY)
    assert head is not None and (head.sequence, head.hash) == (40, entries[-1]["hash"])
    assert verify(entries, CHAIN_KEY, organisation=DERBY, head=head) is None
    assert (await store.verify(DERBY)).intact
    leeds_entries = await audit_service.wait_for_entries(LEEDS, 10)
    assert [e["event_id"] for e in leeds_entries] == [e.id for e in leeds]
    assert (await store.verify(LEEDS)).intact
    await audit_service.wait_for_entries(UNVERIFIED, 1)
    assert await store.organisations() == sorted([DERBY, LEEDS, UNVERIFIED])


async def test_a_redelivered_event_appends_nothing(audit_service: AuditService) -> None:
    events = [audit_event(DERBY, n) for n in range(1, 6)]
    await publish(audit_service.settings, *events)
    await audit_service.wait_for_entries(DERBY, 5)

    marker = audit_event(DERBY, 99)
    await publish(audit_service.settings, events[1], events[4], *events, marker)
    entries = await audit_service.wait_for_entries(DERBY, 6)
    await asyncio.sleep(0.5)  # anything else would have landed beside the marker
    entries = await audit_service.chain(DERBY)
    assert [e["event_id"] for e in entries] == [e.id for e in [*events, marker]]
    assert (await audit_service.store.verify(DERBY)).intact


async def test_a_second_request_reusing_an_event_id_is_still_recorded(
    audit_service: AuditService,
) -> None:
    # A client may choose its X-Request-ID, so two requests can come with one event id; the
    # second must not pass for a redelivery of the first.
    first = audit_event(DERBY, 1, event_id="audit-req-chosen-by-client", record_id="case-1")
    second = audit_event(DERBY, 2, event_id="audit-req-chosen-by-client", record_id="case-2")
    await publish(audit_service.settings, first, second, second)
    entries = await audit_service.wait_for_entries(DERBY, 2)
    await asyncio.sleep(0.5)
    entries = await audit_service.chain(DERBY)
    assert [e["record_id"] for e in entries] == ["case-1", "case-2"]
    assert entries[0]["event_id"] == "audit-req-chosen-by-client"
    assert entries[1]["event_id"].startswith("audit-req-chosen-by-client~")


async def test_a_crash_between_insert_and_head_is_repaired_by_the_next_append(
    chain_settings: Callable[..., HearthSettings],
) -> None:
    service = AuditService(chain_settings())
    store = service.store
    await store.ensure_indexes()
    try:
        entries = new_entries([audit_event(DERBY, n) for n in range(5)])
        assert await store.append(DERBY, entries[:3]) == 3
        stored = await service.chain(DERBY)
        # The head as if the process died after inserting entry 3, before moving the head.
        await store.heads.update_one(
            {"_id": DERBY}, {"$set": {"sequence": 2, "hash": stored[1]["hash"]}}
        )
        # The same event again (redelivered after the crash): nothing new, the head moves.
        assert await store.append(DERBY, entries[2:3]) == 0
        head = await store.head(DERBY)
        assert head is not None and (head.sequence, head.hash) == (3, stored[2]["hash"])

        # Head behind again, and a new event comes: it goes after entry 3, not over it.
        await store.heads.update_one(
            {"_id": DERBY}, {"$set": {"sequence": 1, "hash": stored[0]["hash"]}}
        )
        assert await store.append(DERBY, entries[3:5]) == 2
        chain = await service.chain(DERBY)
        assert [e["event_id"] for e in chain] == [e.event_id for e in entries]
        result = await store.verify(DERBY)
        assert result.intact and result.head is not None and result.head.sequence == 5
    finally:
        await service.stop()


async def test_two_writers_of_one_chain_never_fork_it(
    chain_settings: Callable[..., HearthSettings],
) -> None:
    # Two consumers overlapping during a rebalance: each appends, some events twice.
    settings = chain_settings()
    first, second = AuditService(settings), AuditService(settings)
    await first.store.ensure_indexes()
    try:
        events = [audit_event(DERBY, n) for n in range(60)]
        entries = new_entries(events)
        collisions = 0

        def counted(store: AuditStore) -> None:
            insert = store._insert

            async def counting(documents: list[Document]) -> int:
                nonlocal collisions
                inserted = await insert(documents)
                collisions += inserted < len(documents)
                return inserted

            store._insert = counting  # type: ignore[method-assign]

        counted(first.store)
        counted(second.store)
        await asyncio.gather(
            *(first.store.append(DERBY, entries[i : i + 5]) for i in range(0, 40, 5)),
            *(second.store.append(DERBY, entries[i : i + 5]) for i in range(20, 60, 5)),
        )
        assert collisions > 0  # the writers did take each other's places
        chain = await first.chain(DERBY)
        assert sorted(e["event_id"] for e in chain) == sorted(e.id for e in events)
        assert [e["sequence"] for e in chain] == list(range(1, 61))
        result = await first.store.verify(DERBY)
        assert result.intact, result.finding
        assert result.head is not None and result.head.sequence == 60
    finally:
        await second.stop(drop=False)
        await first.stop()


async def _tampered_chains(service: AuditService) -> None:
    await publish(
        service.settings,
        *(audit_event(DERBY, n) for n in range(1, 13)),
        *(audit_event(LEEDS, n) for n in range(1, 4)),
    )
    await service.wait_for_entries(DERBY, 12)
    await service.wait_for_entries(LEEDS, 3)


def _run_command(settings: HearthSettings, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = verify_command(list(argv), settings=settings, out=out)
    return code, out.getvalue()


async def test_an_entry_altered_in_the_database_is_named(audit_service: AuditService) -> None:
    await _tampered_chains(audit_service)
    store = audit_service.store
    # Someone with write access to the database alone changes who looked at entry 7.
    altered = entry_id(DERBY, 7)
    await store.entries.update_one({"_id": altered}, {"$set": {"actor_subject": "nobody"}})

    result = await store.verify(DERBY)
    assert result.finding is not None
    assert (result.finding.sequence, result.finding.entry_id, result.finding.problem) == (
        7,
        altered,
        Problem.ALTERED,
    )
    assert result.entries == 6  # checked up to the altered one

    code, output = await asyncio.to_thread(_run_command, audit_service.settings)
    assert code == 1, output
    assert f"BROKEN  {DERBY}: entry 7 ({altered}) altered" in output
    assert f"ok      {LEEDS}: 3 entries intact" in output
    code, output = await asyncio.to_thread(
        _run_command, audit_service.settings, "--organisation", LEEDS
    )
    assert code == 0 and DERBY not in output, output


async def test_an_entry_deleted_from_the_database_is_named(audit_service: AuditService) -> None:
    await _tampered_chains(audit_service)
    store = audit_service.store
    code, output = await asyncio.to_thread(_run_command, audit_service.settings)
    assert code == 0, output

    await store.entries.delete_one({"_id": entry_id(DERBY, 4)})
    result = await store.verify(DERBY)
    assert result.finding is not None
    assert (result.finding.sequence, result.finding.entry_id, result.finding.problem) == (
        4,
        entry_id(DERBY, 4),
        Problem.REMOVED,
    )
    code, output = await asyncio.to_thread(_run_command, audit_service.settings)
    assert code == 1
    assert f"BROKEN  {DERBY}: entry 4 ({entry_id(DERBY, 4)}) removed" in output

    # The last entry removed is found through the chain head.
    await store.entries.delete_one({"_id": entry_id(LEEDS, 3)})
    result = await store.verify(LEEDS)
    assert result.finding is not None
    assert (result.finding.sequence, result.finding.problem) == (3, Problem.REMOVED)


async def test_entries_past_a_long_gap_and_foreign_entries_are_found(
    chain_settings: Callable[..., HearthSettings],
) -> None:
    service = AuditService(chain_settings())
    store = service.store
    await store.ensure_indexes()
    try:
        events = [audit_event(DERBY, n) for n in range(1, 8)]
        await store.append(DERBY, new_entries(events))
        # Entries 2-6 gone and the head document with them: entry 7 still tells.
        await store.entries.delete_many({"_id": {"$in": [entry_id(DERBY, n) for n in range(2, 7)]}})
        await store.heads.delete_one({"_id": DERBY})
        result = await store.verify(DERBY)
        assert result.finding is not None
        assert (result.finding.sequence, result.finding.problem) == (2, Problem.REMOVED)
        assert DERBY in await store.organisations()  # found by its entries, head or not

        await store.entries.delete_one({"_id": entry_id(DERBY, 7)})
        copied = await store.entries.find_one({"_id": entry_id(DERBY, 1)})
        assert copied is not None
        await store.entries.insert_one({**copied, "_id": "inserted-by-hand", "event_id": "x"})
        result = await store.verify(DERBY)
        assert result.finding is not None
        assert (result.finding.entry_id, result.finding.problem) == (
            "inserted-by-hand",
            Problem.ALTERED,
        )
    finally:
        await service.stop()


async def test_the_person_query_finds_entries_about_the_persons_cases(
    audit_service: AuditService,
) -> None:
    await publish(
        audit_service.settings,
        referral_received(DERBY, "case-1", "person-p"),
        case_allocated(DERBY, "case-1", "person-p"),
        case_allocated(DERBY, "case-2", "person-p"),
        referral_received(DERBY, "case-3", "person-q"),
    )
    await publish(
        audit_service.settings,
        audit_event(DERBY, 1, actor="worker-1", record_id="case-1"),
        audit_event(DERBY, 2, actor="worker-2", record_id="case-3"),
        audit_event(DERBY, 3, actor="worker-3", record_id="case-2"),
        audit_event(DERBY, 4, actor="worker-4"),
        audit_event(LEEDS, 5, actor="someone-in-leeds", record_id="case-1"),
    )
    store = audit_service.store
    await audit_service.wait_for_entries(DERBY, 4)
    await wait_for(lambda: _cases(store, "person-p", 2))
    cases = await store.cases_of("person-p", DERBY)
    assert cases == ["case-1", "case-2"]
    assert await store.cases_of("person-p", LEEDS) == []  # Derby's cases, not Leeds'

    found = await store.find(DERBY, limit=100, record_ids=cases)
    assert [(e["actor_subject"], e["record_id"]) for e in found] == [
        ("worker-3", "case-2"),
        ("worker-1", "case-1"),
    ]
    assert await store.find(DERBY, limit=100, record_ids=[]) == []


async def _cases(store: AuditStore, person_id: str, count: int) -> bool:
    return len(await store.cases_of(person_id, DERBY)) >= count
