"""The outcomes summary (`GET /v1/outcomes/summary`): every measure's figure, definition and
months for a period in one answer, for the web app's Outcomes page. With real tokens on the
real broker and database: refusals first (no token, every role without reports, another
team, a bad period), then a team leader's and another council's reach, then the summary
checked against the per-measure answers it stands for, exact and public.

The facts are `outputs_data`'s: council A has 5 referrals in September 2026 and 8 in October
(6 to the north team, 2 to the south); council B has 7 in October."""

from __future__ import annotations

from typing import Any

import pytest

from services.outcomes.measures.registry import MEASURES as REGISTRY
from shared.clock import ManualClock
from shared.policy import Permission, Role, reach
from shared.settings import HearthSettings
from tests.identity import bearer
from tests.outcomes.outputs_data import (
    COUNCIL_A,
    COUNCIL_B,
    NORTH,
    SOUTH,
    TODAY,
    RunningOutcomes,
    all_facts,
    get,
    running_outcomes,
)

pytestmark = pytest.mark.integration

SUMMARY = "/v1/outcomes/summary"
MANAGER_A = bearer(COUNCIL_A, roles=["service-manager"])
MANAGER_B = bearer(COUNCIL_B, roles=["service-manager"])
LEADER_SOUTH = bearer(COUNCIL_A, roles=["team-leader"], teams=[SOUTH], caseworker_id="lead-s")
LEADER_NO_TEAM = bearer(COUNCIL_A, roles=["team-leader"])
AUTUMN = {"from": "2026-09-01", "to": "2026-10-31"}


def _values(figures: list[dict[str, Any]]) -> dict[str, tuple[Any, Any, bool]]:
    """{group value: (value, count, suppressed)}; "" for the organisation."""
    return {
        "/".join(f["group"].values()): (f["value"], f["count"], f["suppressed"]) for f in figures
    }


# --- refusals first -----------------------------------------------------------------------------


async def test_no_token_is_401_and_every_role_without_reports_is_403(
    service: RunningOutcomes,
) -> None:
    await get(service, SUMMARY, None, 401)
    for role in Role:
        allowed = reach(frozenset({role.value}), Permission.REPORTS) is not None
        who = bearer(COUNCIL_A, roles=[role.value], teams=[NORTH], caseworker_id="worker-n1")
        answer = await get(service, SUMMARY, who, 200 if allowed else 403)
        if not allowed:
            assert answer.json()["detail"], role


async def test_a_team_leader_is_refused_another_team_and_bad_periods_name_the_field(
    service: RunningOutcomes,
) -> None:
    refused = await get(service, SUMMARY, LEADER_SOUTH, 403, team=NORTH)
    assert refused.json()["errors"][0]["field"] == "team"
    for params, field in (
        ({"from": "2026-10-31", "to": "2026-10-01"}, "from"),
        ({"as_of": "2026-11-17"}, "as_of"),
        ({"audience": "everyone"}, "query.audience"),
    ):
        answer = await get(service, SUMMARY, MANAGER_A, 422, **params)
        assert [e["field"] for e in answer.json()["errors"]] == [field], answer.text


# --- reach --------------------------------------------------------------------------------------


async def test_a_team_leader_sees_their_own_teams_only(service: RunningOutcomes) -> None:
    body = (await get(service, SUMMARY, LEADER_SOUTH, **AUTUMN)).json()
    assert body["organisation"] == COUNCIL_A and body["teams"] == [SOUTH]
    [referrals] = body["measures"]
    assert _values(referrals["figures"]) == {"": (2.0, 2, False)}
    assert _values(referrals["months"]) == {"2026-10": (2.0, 2, False)}  # none in September
    # Asked for the public, their team's 2 is withheld.
    public = (await get(service, SUMMARY, LEADER_SOUTH, audience="public", **AUTUMN)).json()
    assert public["audience"] == "public"
    assert _values(public["measures"][0]["figures"]) == {"": (None, None, True)}
    # A team leader with no teams reaches no case at all.
    nothing = (await get(service, SUMMARY, LEADER_NO_TEAM, **AUTUMN)).json()
    assert nothing["teams"] == []
    assert _values(nothing["measures"][0]["figures"]) == {"": (0.0, 0, False)}


async def test_a_manager_sees_their_own_council_only(service: RunningOutcomes) -> None:
    mine = (await get(service, SUMMARY, MANAGER_A, **AUTUMN)).json()
    assert (mine["start"], mine["end"], mine["as_of"]) == ("2026-09-01", "2026-10-31", "2026-11-16")
    assert mine["teams"] is None and mine["audience"] == "organisation"
    [referrals] = mine["measures"]
    assert (referrals["key"], referrals["title"], referrals["unit"]) == (
        "referrals",
        "Referrals received",
        "cases",
    )
    assert referrals["definition"].startswith("Cases referred in the period")
    assert _values(referrals["figures"]) == {"": (13.0, 13, False)}
    assert _values(referrals["months"]) == {"2026-09": (5.0, 5, False), "2026-10": (8.0, 8, False)}
    # Council B's figures hold its own 7 October referrals and none of council A's.
    theirs = (await get(service, SUMMARY, MANAGER_B, **AUTUMN)).json()
    assert theirs["organisation"] == COUNCIL_B
    assert _values(theirs["measures"][0]["figures"]) == {"": (7.0, 7, False)}
    assert _values(theirs["measures"][0]["months"]) == {"2026-10": (7.0, 7, False)}


# --- the same figures as the per-measure routes ---------------------------------------------------


async def test_the_summary_equals_every_measures_own_answers(settings: HearthSettings) -> None:
    async with running_outcomes(settings, ManualClock(TODAY)) as service:
        await service.store.record(all_facts())
        listed = (await get(service, "/v1/outcomes/measures", MANAGER_A)).json()
        for who in (MANAGER_A, LEADER_SOUTH):
            for audience in ("organisation", "public"):
                asked = {"audience": audience, **AUTUMN}
                body = (await get(service, SUMMARY, who, **asked)).json()
                assert [
                    {k: m[k] for k in ("key", "title", "definition", "unit")}
                    for m in body["measures"]
                ] == listed
                assert [m["key"] for m in body["measures"]] == list(REGISTRY)
                for measure in body["measures"]:
                    path = f"/v1/outcomes/measures/{measure['key']}"
                    whole = await get(service, path, who, group_by="organisation", **asked)
                    months = await get(service, path, who, group_by="month", **asked)
                    assert measure["figures"] == whole.json()["figures"], measure["key"]
                    assert measure["months"] == months.json()["figures"], measure["key"]
                    assert body["teams"] == whole.json()["teams"]
