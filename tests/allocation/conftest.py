"""Fixtures shared by the allocation tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from services.allocation.app import AllocationRuntime, build_runtime
from shared.settings import HearthSettings


@pytest.fixture
async def runtime(
    make_settings: Callable[..., HearthSettings],
) -> AsyncIterator[AllocationRuntime]:
    """The allocation runtime's store on the real database, not started (no consumers)."""
    runtime = build_runtime(make_settings("allocation"))
    yield runtime
    await runtime.mongo.drop_database(runtime.db.name)
    await runtime.mongo.close()
