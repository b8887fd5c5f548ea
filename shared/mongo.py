"""The database setup: PyMongo's own AsyncMongoClient (Motor is deprecated by MongoDB)."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from shared.database_metrics import DatabaseCommandMetrics
from shared.settings import HearthSettings

Document = dict[str, Any]
Collection = AsyncCollection[Document]
Database = AsyncDatabase[Document]


def make_mongo_client(settings: HearthSettings) -> AsyncMongoClient[Document]:
    # One client per event loop. Retryable writes are off: FerretDB has no sessions and our
    # writes are idempotent by design (inbox ids, derived event ids).
    return AsyncMongoClient(
        settings.mongo_url,
        tz_aware=True,
        retryWrites=False,
        serverSelectionTimeoutMS=5000,
        appname=f"hearth-{settings.service_name}",
        event_listeners=[DatabaseCommandMetrics(settings.service_name)],
    )
