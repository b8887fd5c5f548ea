"""Issue 18, done when: a known quarter of events for two organisations goes through the real
broker into the outcomes service; each measure and the extract's rows are checked exactly, and
a rebuild from the topics gives the same figures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import pytest

from services.outcomes.app import OutcomesRuntime, build_runtime
from services.outcomes.hclic.extract import extract
from services.outcomes.hclic.validation import validate
from services.outcomes.measures.base import GroupBy, MeasureQuery, MeasureResult, ReportingData
from services.outcomes.measures.registry import compute_all
from services.outcomes.rebuild import rebuild
from services.outcomes.store import OutcomesStore
from shared.settings import HearthSettings
from tests.helpers import publish, wait_for
from tests.outcomes_quarter.quarter import DERBY, LEEDS, QUARTER_END, QUARTER_START, History
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
    """Every fact stored and folded into its history (a fact is stored before its fold)."""
    return await store.caught_up(count)


async def test_the_histories_are_the_quarters_story_and_a_rebuild_gives_the_same(
    outcomes: tuple[OutcomesRuntime, History],
) -> None:
    runtime, history = outcomes
    store = runtime.store
    derby = {case.case_id: case for case in await store.cases(DERBY)}
    leeds = {case.case_id: case for case in await store.cases(LEEDS)}
    assert sorted(derby) == ["c1", "c2", "c3", "c4", "c5", "jan"]
    assert sorted(leeds) == ["l1", "l2"]
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


CASE_REF_KEY = "test-hclic-case-ref-key-0123456789abcdef"
QUARTER = (QUARTER_START, QUARTER_END, QUARTER_END)  # from, to, as of
JAN_TO_MAR_A_YEAR_ON = (date(2026, 1, 1), date(2026, 3, 31), date(2027, 2, 1))


async def _data(store: OutcomesStore, organisation: str) -> ReportingData:
    cases = await store.cases(organisation)
    tenancies = await store.tenancies(c.tenancy_id for c in cases if c.tenancy_id)
    return ReportingData(cases, tenancies, await store.capacities(organisation))


def _figures(results: list[MeasureResult]) -> dict[str, Any]:
    """key -> (value, count, numerator) of the one figure, or {group: ...} when grouped."""
    out: dict[str, Any] = {}
    for result in results:
        rows = {
            tuple(sorted(f.group.values())): (f.value, f.count, f.numerator) for f in result.figures
        }
        out[result.key] = rows.get((), rows)
    return out


async def _measures(
    store: OutcomesStore, organisation: str, period: tuple[date, date, date], **query: Any
) -> dict[str, Any]:
    start, end, as_of = period
    data = await _data(store, organisation)
    return _figures(compute_all(data, MeasureQuery(organisation, start, end, as_of, **query)))


async def test_each_measure_of_the_quarter_exactly_and_the_same_after_a_rebuild(
    outcomes: tuple[OutcomesRuntime, History],
) -> None:
    runtime, _ = outcomes
    store = runtime.store
    derby = await _measures(store, DERBY, QUARTER)
    assert derby["days_to_allocation"] == (2.0, 3, None)  # c1 2 days, c2 7, c3 2
    assert derby["days_to_first_contact"] == (9.5, 2, None)  # c1 5, c2 14
    assert derby["days_to_plan"] == (9.0, 1, None)  # c1
    assert derby["reviews_on_time"] == (100.0, 1, 1)  # due 26 Jun, done 25 Jun
    assert derby["stage_1_days"] == (63.0, 2, None)  # c1 88 days, c2 38
    assert derby["arrears_change_to_closure"] == (-800.0, 1, None)  # c1 £1,200 -> £400
    assert derby["tenancy_turnover"] == (33.3, 3, 1)  # t2 evicted of t-jan, t1, t2
    assert derby["reconnection_held_3m"] == (100.0, 1, 1)  # c4, to Leeds
    assert derby["learning_log_themes"] == (1.0, 1, None)
    assert derby["escalations"] == (1.0, 1, None)
    assert derby["demand_against_capacity"] == (6.7, 2, None)  # 4 h of 60 h
    assert derby["tenancy_sustained_3m"] == (None, 0, 0)  # none due by 30 June
    assert derby["repeat_presentations"] == (None, 0, 0)  # twelve months not yet passed

    a_year_on = await _measures(store, DERBY, JAN_TO_MAR_A_YEAR_ON)
    for months in (3, 6, 12):
        assert a_year_on[f"tenancy_sustained_{months}m"] == (100.0, 1, 1)  # the January case
    assert a_year_on["arrears_change_to_closure"] == (-500.0, 1, None)  # £800 -> £300
    assert a_year_on["arrears_change_to_6_months"] == (-700.0, 1, None)  # £800 -> £100
    assert a_year_on["repeat_presentations"] == (100.0, 1, 1)  # referred again on 10 May

    by_team = await _measures(store, DERBY, QUARTER, group_by=GroupBy.TEAM)
    assert by_team["days_to_allocation"] == {
        ("team-a",): (2.0, 2, None),
        ("team-b",): (7.0, 1, None),
    }
    assert by_team["escalations"] == {("team-b",): (1.0, 1, None)}
    only_a = await _measures(store, DERBY, QUARTER, teams=frozenset({"team-a"}))
    assert only_a["days_to_allocation"] == (2.0, 2, None)  # a leader of team A sees A only

    leeds = await _measures(store, LEEDS, QUARTER)
    assert leeds["days_to_allocation"] == (4.5, 2, None)  # l1 7 days, l2 2
    assert leeds["stage_2_days"] == (26.0, 1, None)  # 20 May to 15 June
    assert leeds["days_to_plan"] == (None, 0, None)  # the slip is left out, not -3 days
    assert leeds["escalations"] == (None, 0, None)  # Derby's escalation is not Leeds'

    # The extract: each council's own cases active in the quarter, and its errors.
    derby_return = extract(
        (await _data(store, DERBY)).cases, DERBY, QUARTER_START, key=CASE_REF_KEY
    )
    rows = {case.case_id: case.rows for case in derby_return.cases}
    assert sorted(rows) == ["c1", "c2", "c3", "c4", "c5"]  # January's case ended before
    main = {case_id: sections["main"] for case_id, sections in rows.items()}
    assert main["c1"]["referral_date"] == "2026-04-01"
    assert main["c1"]["duty_start_date"] == "2026-04-03"
    assert main["c5"]["duty_start_date"] == ""  # still waiting
    assert rows["c1"]["prevention"]["reason_duty_ended"] == "secured_existing_accommodation"
    assert rows["c2"]["prevention"]["reason_duty_ended"] == "homeless"
    assert rows["c4"]["relief"]["reason_duty_ended"] == "secured_alternative_accommodation"
    assert rows["c4"]["relief"]["destination_area"] == "leeds"
    assert rows["c1"]["assistance"]["days_to_first_contact"] == "5"
    assert validate(derby_return) == []
    leeds_return = extract(
        (await _data(store, LEEDS)).cases, LEEDS, QUARTER_START, key=CASE_REF_KEY
    )
    assert sorted(case.case_id for case in leeds_return.cases) == ["l1", "l2"]
    [error] = validate(leeds_return)
    assert (error.case_id, error.field) == ("l2", "plan_agreed_date")

    # A rebuild from the topics gives every figure and row again.
    rebuilt_db = f"{runtime.settings.database_name}_rebuilt"
    await rebuild(runtime.settings, rebuilt_db)
    rebuilt = OutcomesStore(runtime.mongo[rebuilt_db])
    for organisation in (DERBY, LEEDS):
        for period in (QUARTER, JAN_TO_MAR_A_YEAR_ON):
            assert await _measures(rebuilt, organisation, period) == await _measures(
                store, organisation, period
            )
        again = extract(
            (await _data(rebuilt, organisation)).cases,
            organisation,
            QUARTER_START,
            key=CASE_REF_KEY,
        )
        first = extract(
            (await _data(store, organisation)).cases,
            organisation,
            QUARTER_START,
            key=CASE_REF_KEY,
        )
        assert [c.rows for c in again.cases] == [c.rows for c in first.cases]
