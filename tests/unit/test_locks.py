"""Per-document locks: one writer per key at a time, other keys not held up."""

from __future__ import annotations

import asyncio

from shared.locks import KeyedLocks


async def test_one_writer_per_key_and_idle_keys_forgotten() -> None:
    locks = KeyedLocks()
    inside: dict[str, int] = {"a": 0, "b": 0}
    most: dict[str, int] = {"a": 0, "b": 0}

    async def write(key: str) -> None:
        async with locks.hold(key):
            inside[key] += 1
            most[key] = max(most[key], inside[key])
            await asyncio.sleep(0)
            inside[key] -= 1

    await asyncio.gather(*(write(k) for k in "abababab"))
    assert most == {"a": 1, "b": 1}
    assert locks._locks == {} and locks._users == {}
