"""The outcomes service with the outputs' known facts recorded, for the API tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from shared.clock import ManualClock
from shared.settings import HearthSettings
from tests.outcomes.outputs_data import (
    CASE_REF_KEY,
    MEASURES,
    TODAY,
    RunningOutcomes,
    all_facts,
    running_outcomes,
)


@pytest.fixture
def settings(make_settings: Callable[..., HearthSettings]) -> HearthSettings:
    return make_settings("outcomes", hclic_case_ref_key=CASE_REF_KEY)


@pytest.fixture
async def service(settings: HearthSettings) -> AsyncIterator[RunningOutcomes]:
    async with running_outcomes(settings, ManualClock(TODAY), MEASURES) as running:
        await running.store.record(all_facts())
        yield running
