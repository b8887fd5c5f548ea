"""Per-key locks inside one process: one writer at a time for a case or a person.

A service serialises its own read-decide-write sequences on one document (a case, a person) so
consumer lanes and HTTP requests of the same process do not race each other's version guards and
retry. Across processes the database's atomic single-document updates decide (on FerretDB, with
devstack's write-lock patch); these locks only save the losing writer a wasted round trip.
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
