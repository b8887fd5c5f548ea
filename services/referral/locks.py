"""Per-document locks inside one process.

FerretDB 1.24 on SQLite applies an update as read-modify-write without a transaction
(FerretDB issue #3040), so two concurrent updates of one document can lose one of them; we
measured 20 concurrent $push on one document keep only a few. Consumer lanes run different case
ids side by side, and two cases of one person update the same people document, so those writes
are serialised here. (MongoDB itself needs none of this; the writes stay idempotent either way.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class KeyedLocks:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:  # forget idle keys so the map does not grow
                del self._users[key]
                del self._locks[key]
