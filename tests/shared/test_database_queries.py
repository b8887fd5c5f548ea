"""Query results the services rely on, checked against the database the tests run on.

devstack's FerretDB narrows queries in SQL before its own filter runs
(devstack/resources/ferretdb-patch/hearth_pushdown.go); that narrowing must never drop a
match. Each case here is a MongoDB semantic a too-narrow WHERE clause would break.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

DOCUMENTS = [
    {"_id": "a", "status": "open", "tags": ["x", "y"], "flag": True, "n": 1, "_pending": True},
    {"_id": "b", "status": "closed", "tags": "x", "flag": False, "n": 2},
    {"_id": "c", "status": ["open", "waiting"], "flag": True},
    {"_id": "d", "tags": [], "flag": [True, False], "nested": {"status": "open"}},
    {"_id": "e", "status": "open ", "tags": ["[x]"], "flag": "true"},
]

CASES = [
    ({"status": "open"}, {"a", "c"}),  # a scalar, or an array containing it
    ({"tags": "x"}, {"a", "b"}),
    ({"tags": "[x]"}, {"e"}),
    ({"flag": True}, {"a", "c", "d"}),
    ({"flag": "true"}, {"e"}),
    ({"status": "open", "flag": True}, {"a", "c"}),
    ({"_id": {"$in": ["a", "d", "zz"]}}, {"a", "d"}),
    ({"_id": {"$in": ["a", "b"]}, "status": "closed"}, {"b"}),
    ({"_id": "c", "status": "waiting"}, {"c"}),
    ({"nested.status": "open"}, {"d"}),
    ({"status": {"$ne": "open"}}, {"b", "d", "e"}),
    ({"missing": "x"}, set()),
    ({"status": {"$in": ["closed", "waiting"]}}, {"b", "c"}),
    ({"flag": {"$in": [False]}, "tags": {"$in": ["x", "[x]"]}}, {"b"}),
    ({"status": {"$in": ["open", 1]}}, {"a", "c"}),
    ({"_pending": True}, {"a"}),  # the outbox's and timers' own fields start with "_"
]


@pytest.mark.parametrize("indexed", [False, True])
async def test_equality_filters_match_as_on_mongodb(scratch_db, indexed: bool) -> None:
    collection = scratch_db["things"]
    await collection.insert_many(DOCUMENTS)
    if indexed:
        for field in ("status", "tags", "flag"):
            await collection.create_index(field)
    for query, expected in CASES:
        found = {d["_id"] async for d in collection.find(query)}
        assert found == expected, query
        assert await collection.count_documents(query) == len(expected), query
    result = await collection.update_many({"status": "open"}, {"$set": {"seen": True}})
    assert result.modified_count == 2
