"""Idempotent consumption: a redelivered event has no second effect.

Two ways, both inside what MongoDB 7 and FerretDB share:
- on the state document itself: the event id joins `_inbox` in the same atomic update as the
  change, and the update's filter excludes documents that already hold it;
- for effects that are not one document update (a sent email), a claim in an inbox collection
  with a unique `_id`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from shared.mongo import Collection

INBOX_FIELD = "_inbox"


def unseen(event_id: str) -> dict[str, Any]:
    return {INBOX_FIELD: {"$ne": event_id}}


def mark_seen(event_id: str) -> dict[str, Any]:
    return {"$addToSet": {INBOX_FIELD: event_id}}


class InboxCollection:
    """Claims (consumer, key) once; used where the effect lives outside one document."""

    def __init__(self, collection: Collection) -> None:
        self.collection = collection

    async def claim(self, key: str, now: datetime, **details: Any) -> bool:
        """True the first time `key` is claimed, False ever after."""
        try:
            await self.collection.insert_one({"_id": key, "at": now, **details})
        except DuplicateKeyError:
            return False
        return True

    async def seen(self, key: str) -> bool:
        return await self.collection.find_one({"_id": key}, {"_id": 1}) is not None

    async def release(self, key: str) -> None:
        """Undo a claim whose effect failed, so a retry can make it."""
        await self.collection.delete_one({"_id": key})
