"""Typed access to one collection: a service's aggregates go in and come out as pydantic
models, never as raw documents, so rules code reads `case.stage`, not `doc["stage"]`.

A document is the model's fields (dates as ISO strings and enums as their values, which both
MongoDB and FerretDB store and compare alike) beside the bookkeeping the spine keeps on it:
`version` for optimistic concurrency, `_inbox` for idempotency, the outbox fields. A service
whose documents have another layout overrides `to_document` / `from_document`.
Changes are saved through `shared.unit_of_work.UnitOfWork`, never by the repository itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shared.events.envelope import Envelope
from shared.inbox import INBOX_FIELD
from shared.mongo import Collection, Document
from shared.outbox import pending_envelopes

M = TypeVar("M")  # a pydantic model, or a dataclass whose repository says how to store it
VERSION = "version"


def bson_safe(value: Any) -> Any:
    """A model dump made storable alike on MongoDB and FerretDB: a `date` (not a datetime)
    becomes its ISO string, an enum its value, a set or tuple a list."""
    if isinstance(value, Enum):
        return bson_safe(value.value)
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): bson_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [bson_safe(v) for v in value]
    return value


@dataclass(frozen=True)
class Loaded(Generic[M]):
    """A model as read, with what a save needs: its version and the events already applied."""

    id: str
    model: M
    version: int
    inbox: frozenset[str]
    # Events a failed publish left in its outbox: a save guarded on `version` finds exactly
    # these beside its own, so it publishes them too before emptying the outbox.
    pending: tuple[Envelope, ...] = ()

    def has_seen(self, event_id: str | None) -> bool:
        return event_id is not None and event_id in self.inbox


class Repository(Generic[M]):
    def __init__(self, collection: Collection, model: type[M], id_field: str) -> None:
        self.collection = collection
        self.model = model
        self.id_field = id_field

    def id_of(self, model: M) -> str:
        return str(getattr(model, self.id_field))

    def to_document(self, model: M) -> Document:
        """The stored fields of `model` (without `_id` and bookkeeping)."""
        if not isinstance(model, BaseModel):
            raise TypeError(f"{type(self).__name__} must say how to store {type(model)}")
        fields: Document = bson_safe(model.model_dump(mode="python"))
        return fields

    def from_document(self, document: Document) -> M:
        if not issubclass(self.model, BaseModel):  # type: ignore[arg-type]
            raise TypeError(f"{type(self).__name__} must say how to read {self.model}")
        return self.model.model_validate(document)  # type: ignore[attr-defined,no-any-return]

    def load(self, document: Document) -> Loaded[M]:
        return Loaded(
            id=str(document["_id"]),
            model=self.from_document(document),
            version=int(document.get(VERSION) or 0),
            inbox=frozenset(document.get(INBOX_FIELD) or ()),
            pending=tuple(e for _, e in pending_envelopes(document)),
        )

    async def get(self, id_: str, **where: Any) -> Loaded[M] | None:
        document = await self.collection.find_one({"_id": id_, **where})
        return None if document is None else self.load(document)

    async def get_many(
        self, ids: Iterable[str], projection: Document | None = None
    ) -> dict[str, Loaded[M]]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        # One batch for them all: the default first batch of 101 costs a getMore round trip.
        query = {"_id": {"$in": wanted}}
        cursor = self.collection.find(query, projection, batch_size=len(wanted))
        return {str(doc["_id"]): self.load(doc) async for doc in cursor}

    async def find(
        self,
        query: Document,
        *,
        sort: list[tuple[str, int]] | None = None,
        skip: int = 0,
        limit: int = 0,
    ) -> list[Loaded[M]]:
        cursor = self.collection.find(query)
        if sort:
            cursor = cursor.sort(sort)
        if skip:
            cursor = cursor.skip(skip)
        if limit:
            cursor = cursor.limit(limit)
        return [self.load(doc) async for doc in cursor]


class RawDocuments(Repository[Document]):
    """A collection changed only by update operators (`UnitOfWork.change` / `upsert`: sets
    that grow, counters, logs), never loaded and saved whole as a model."""

    def __init__(self, collection: Collection) -> None:
        super().__init__(collection, dict, "_id")

    def to_document(self, model: Document) -> Document:
        return dict(model)

    def from_document(self, document: Document) -> Document:
        return document
