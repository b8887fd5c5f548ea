"""Database commands counted per collection on /metrics, against the real database."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

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
