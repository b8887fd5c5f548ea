"""The reconnection harness for every test of the service (tests/reconnection/harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from shared.clock import ManualClock
from shared.kafka import ensure_topics
from tests.reconnection.harness import Harness


@pytest.fixture
async def harness(make_settings) -> AsyncIterator[Harness]:
    settings = make_settings("reconnection")
    await ensure_topics(settings)
    h = Harness(settings, ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)))
    await h.runtime.start(background_loops=False)
    try:
        yield h
    finally:
        await h.http.aclose()
        # Each test's database is its own; dropping it keeps the shared FerretDB small.
        await h.runtime.mongo.drop_database(settings.database_name)
        await h.runtime.stop()
