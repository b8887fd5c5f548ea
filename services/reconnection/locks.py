"""One writer per case inside a process.

FerretDB 1.24 applies a conditional update as read-modify-write without a transaction, so the
version guard in store.save is not enough there: measured, several of 8 concurrent guarded
find_one_and_update calls on one document all "win". Consumer lanes and HTTP requests can touch
one case at the same moment, so every change of a case is serialised here; the version guard
still protects replicas on MongoDB proper.
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
