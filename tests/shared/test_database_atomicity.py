"""What the spine assumes of the database, checked against the one the tests run on.

Idempotency guards (`_inbox`), timer claims and capacity claims are single-document
read-modify-write operations; MongoDB makes each one atomic. Stock FerretDB 1.24 does not
(it reads, modifies in Go and writes back), so devstack builds it with a per-collection write
lock (devstack/resources/ferretdb-patch/). These tests fail on a database that loses updates.
"""

from __future__ import annotations

import asyncio

import pytest
from pymongo import UpdateOne

from shared.mongo import make_mongo_client

pytestmark = pytest.mark.integration


async def test_concurrent_updates_of_one_document_lose_nothing(scratch_db) -> None:
    collection = scratch_db["counters"]
    await collection.insert_one({"_id": "one", "n": 0, "seen": []})
    await asyncio.gather(
        *(
            collection.update_one({"_id": "one"}, {"$inc": {"n": 1}, "$push": {"seen": i}})
            for i in range(40)
        )
    )
    document = await collection.find_one({"_id": "one"})
    assert document is not None
    assert document["n"] == 40 and sorted(document["seen"]) == list(range(40))


async def test_a_guarded_claim_has_exactly_one_winner(scratch_db) -> None:
    collection = scratch_db["timers"]
    for round_ in range(5):
        await collection.insert_one({"_id": f"timer-{round_}", "fired": False})
        claims = await asyncio.gather(
            *(
                collection.find_one_and_update(
                    {"_id": f"timer-{round_}", "fired": False},
                    {"$set": {"fired": True, "by": replica}},
                )
                for replica in range(10)
            )
        )
        assert sum(claim is not None for claim in claims) == 1


async def test_a_bulk_write_of_many_updates_completes(make_settings) -> None:
    # Stock FerretDB 1.24 kept every statement's SQLite connection until the command ended and
    # hung forever past its pool of 100; the outbox and the arrears store update in bulk.
    settings = make_settings("atomicity")
    client = make_mongo_client(settings)
    collection = client[settings.database_name]["bulk"]
    try:
        await collection.insert_many([{"_id": f"d-{i}", "n": 0} for i in range(500)])
        updates = [UpdateOne({"_id": f"d-{i}"}, {"$inc": {"n": 1}}) for i in range(500)]
        result = await asyncio.wait_for(collection.bulk_write(updates, ordered=False), 30)
        assert result.modified_count == 500
    finally:
        await client.drop_database(settings.database_name)
        await client.close()
