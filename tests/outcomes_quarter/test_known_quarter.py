"""Issue 18, done when: a known quarter of events for two organisations goes through the real
broker into the outcomes service; each measure and the extract's rows are checked exactly, and
a rebuild from the topics gives the same figures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from services.outcomes.app import OutcomesRuntime, build_runtime
from services.outcomes.rebuild import rebuild
from services.outcomes.store import OutcomesStore
from shared.settings import HearthSettings
from tests.helpers import publish, wait_for
from tests.outcomes_quarter.quarter import DERBY, LEEDS, History
from tests.outcomes_quarter.scenario import known_quarter


@pytest.fixture
async def outcomes(
    make_settings: Callable[..., HearthSettings],
) -> AsyncIterator[tuple[OutcomesRuntime, History]]:
    settings = make_settings("outcomes")
    runtime = build_runtime(settings)
    await runtime.start()
    history = known_quarter()
    try:
        await publish(settings, *history.envelopes)
        await wait_for(
            lambda: _has(runtime.store, len(history.envelopes)), timeout=60.0, interval=0.3
        )
        yield runtime, history
    finally:
        await runtime.mongo.drop_database(settings.database_name)
        await runtime.mongo.drop_database(f"{settings.database_name}_rebuilt")
        await runtime.stop()


async def _has(store: OutcomesStore, count: int) -> bool:
    return await store.fact_count() >= count


async def test_the_histories_are_the_quarters_story_and_a_rebuild_gives_the_same(
    outcomes: tuple[OutcomesRuntime, History],
) -> None:
    runtime, history = outcomes
    store = runtime.store
    derby = {case.case_id: case for case in await store.cases(DERBY)}
    leeds = {case.case_id: case for case in await store.cases(LEEDS)}
    assert sorted(derby) == ["c1", "c2", "c3", "c4", "c5", "jan"]
    assert sorted(leeds) == ["l1"]
    assert derby["c2"].closure_reason == "evicted"
    assert derby["c3"].person_id == derby["jan"].person_id

    result = await rebuild(runtime.settings, f"{runtime.settings.database_name}_rebuilt")
    assert result.facts == len(history.envelopes)
    rebuilt = OutcomesStore(runtime.mongo[f"{runtime.settings.database_name}_rebuilt"])
    for organisation in (DERBY, LEEDS):
        assert _by_id(await rebuilt.cases(organisation)) == _by_id(await store.cases(organisation))
    tenancy_ids = ["t-jan", "t1", "t2"]
    assert await rebuilt.tenancies(tenancy_ids) == await store.tenancies(tenancy_ids)
    assert _by_id(await rebuilt.capacities(DERBY), "caseworker_id") == _by_id(
        await store.capacities(DERBY), "caseworker_id"
    )


def _by_id(items: list, name: str = "case_id") -> dict:  # type: ignore[type-arg]
    return {getattr(item, name): item for item in items}
