"""Database commands counted per collection on /metrics, against the real database."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from pymongo.errors import BulkWriteError

from shared.mongo import make_mongo_client

pytestmark = pytest.mark.integration


def observed(service: str, command: str, collection: str) -> float:
    labels = {"service": service, "command": command, "collection": collection}
    return REGISTRY.get_sample_value("hearth_database_command_seconds_count", labels) or 0.0


async def test_commands_are_counted_by_collection(make_settings) -> None:
    settings = make_settings("dbmetrics")
    client = make_mongo_client(settings)
    things = client[settings.database_name]["things"]
    service = settings.service_name
    try:
        before = {c: observed(service, c, "things") for c in ("insert", "update", "find")}
        await things.insert_one({"_id": "a", "n": 1})
        await things.update_one({"_id": "a"}, {"$inc": {"n": 1}})
        assert (await things.find_one({"_id": "a"}) or {})["n"] == 2
        after = {c: observed(service, c, "things") for c in ("insert", "update", "find")}
        assert {c: after[c] - before[c] for c in after} == {"insert": 1, "update": 1, "find": 1}
    finally:
        await client.drop_database(settings.database_name)
        await client.close()


def written(service: str, command: str, collection: str) -> float:
    labels = {"service": service, "command": command, "collection": collection}
    return REGISTRY.get_sample_value("hearth_database_documents_written_total", labels) or 0.0


async def test_documents_written_are_counted_from_the_replies(make_settings) -> None:
    """What the database says it changed: a guard that refused writes nothing, a bulk insert
    that met a taken id counts the others, an upsert counts the document it created."""
    settings = make_settings("dbwritten")
    client = make_mongo_client(settings)
    things = client[settings.database_name]["things"]
    service = settings.service_name
    commands = ("insert", "update", "delete", "findAndModify")
    try:
        before = {c: written(service, c, "things") for c in commands}
        await things.insert_many([{"_id": "a", "n": 1}, {"_id": "b", "n": 1}])
        with pytest.raises(BulkWriteError):
            await things.insert_many([{"_id": "a"}, {"_id": "c", "n": 1}], ordered=False)
        await things.update_many({}, {"$inc": {"n": 1}})  # three documents
        await things.update_one({"_id": "a", "n": 99}, {"$inc": {"n": 1}})  # guard refuses
        await things.update_one({"_id": "d"}, {"$set": {"n": 1}}, upsert=True)
        await things.find_one_and_update({"_id": "a"}, {"$inc": {"n": 1}})
        await things.find_one_and_update({"_id": "zz"}, {"$inc": {"n": 1}})  # no such document
        await things.delete_many({"_id": {"$in": ["b", "c"]}})
        after = {c: written(service, c, "things") for c in commands}
        assert {c: after[c] - before[c] for c in commands} == {
            "insert": 3,
            "update": 4,
            "delete": 2,
            "findAndModify": 1,
        }
    finally:
        await client.drop_database(settings.database_name)
        await client.close()
