"""The reconnection harness for every test of the service (tests/reconnection/harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.reconnection.harness import Harness, running_harness


@pytest.fixture
async def harness(make_settings) -> AsyncIterator[Harness]:
    async with running_harness(make_settings("reconnection")) as h:
        yield h
