"""bulk_upsert against the real database: what the batched consumers rely on."""

from __future__ import annotations

import pytest

from shared.bulk import Upsert, bulk_upsert

pytestmark = pytest.mark.integration


def bump(doc_id: str, status: str) -> Upsert:
    # Moves forward only: the guard refuses a status it has passed.
    order = ["pending", "open", "closed"]
    return Upsert(
        doc_id,
        {"$set": {"status": status}, "$inc": {"n": 1}},
        {"status": status, "n": 1},
        guard={"status": {"$nin": order[order.index(status) :]}},
    )


async def test_inserts_missing_updates_existing_and_respects_guards(scratch_db) -> None:
    collection = scratch_db["things"]
    await collection.insert_many(
        [{"_id": "old", "status": "pending", "n": 1}, {"_id": "done", "status": "closed"}]
    )
    await bulk_upsert(
        collection,
        [
            bump("new", "pending"),
            bump("new", "open"),  # the same document again in one batch: applied after
            bump("old", "open"),
            bump("done", "open"),  # refused by its guard, without an error
            bump("new", "pending"),  # behind: refused
        ],
    )
    found = {d["_id"]: d async for d in collection.find({})}
    assert (found["new"]["status"], found["new"]["n"]) == ("open", 2)
    assert (found["old"]["status"], found["old"]["n"]) == ("open", 2)
    assert found["done"]["status"] == "closed" and "n" not in found["done"]


async def test_once_applies_each_event_once(scratch_db) -> None:
    collection = scratch_db["things"]

    def count(event_id: str, doc_id: str) -> Upsert:
        return Upsert(doc_id, {"$inc": {"n": 1}}, {"n": 1}).once(event_id)

    await bulk_upsert(collection, [count("e1", "a"), count("e2", "a"), count("e1", "b")])
    await bulk_upsert(collection, [count("e1", "a"), count("e2", "a"), count("e3", "b")])
    found = {d["_id"]: d["n"] async for d in collection.find({})}
    assert found == {"a": 2, "b": 2}
