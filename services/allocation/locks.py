"""Short mutual exclusion across replicas, built on the one write FerretDB makes atomic.

FerretDB 1.24 (SQLite handler) applies an update by reading the document, changing it and
writing it back without isolation between connections: two concurrent guarded
`find_one_and_update` calls can both match, and concurrent `$inc`s can lose each other
(measured: 40 concurrent `$inc: 1` on one document left 6). A unique `_id` insert is enforced
by the database, so a lock is a document inserted under the resource's key and deleted after.
The writes to a caseworker's capacity and to a case entry are made while holding its lock,
which keeps the guarded `find_one_and_update` claims correct on FerretDB as on MongoDB.
A holder that crashes leaves a lock that expires after LOCK_TTL.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from pymongo.errors import DuplicateKeyError

from shared.ids import new_id
from shared.mongo import Collection

LOCK_TTL = timedelta(seconds=15)
LOCK_WAIT_SECONDS = 60.0


class LockBusy(RuntimeError):
    """Could not take a lock in time; the caller's work is retried."""


def _wall_clock() -> datetime:
    # Lock expiry is operational (crash recovery), so it uses real time.
    return datetime.now(UTC)


class Locks:
    def __init__(self, collection: Collection) -> None:
        self.collection = collection
        # In one process, waiters queue on an asyncio lock instead of polling the database.
        self._local: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        local = self._local[key]
        try:
            async with local:
                token = await self._acquire(key)
                try:
                    yield
                finally:
                    await self.collection.delete_one({"_id": key, "token": token})
        finally:
            if self._local.get(key) is local and not local.locked():
                # Forget idle keys; a late waiter on the old lock is still covered by the
                # database lock, which is what guarantees exclusion.
                self._local.pop(key, None)

    async def _acquire(self, key: str) -> str:
        token = new_id()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOCK_WAIT_SECONDS
        pause = 0.005
        while True:
            now = _wall_clock()
            try:
                await self.collection.insert_one(
                    {"_id": key, "token": token, "until": now + LOCK_TTL}
                )
                return token
            except DuplicateKeyError:
                pass
            held = await self.collection.find_one({"_id": key})
            if held is not None and _aware(held["until"]) <= now:
                # The holder crashed: remove its lock (only that one) and try again.
                await self.collection.delete_one({"_id": key, "token": held["token"]})
                continue
            if loop.time() > deadline:
                raise LockBusy(f"lock {key!r} held too long")
            await asyncio.sleep(pause * (1 + random.random()))
            pause = min(pause * 2, 0.2)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
