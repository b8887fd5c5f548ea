"""The outcomes service's API with real tokens, on the real broker and database: refusals
first (no token, a role without reports, another organisation, another team), then a
measure as JSON and CSV, small numbers withheld for the public, charts, the monthly PDF and
the H-CLIC return.

The facts are loaded straight into the service's store (`store.record`); the broker path
is the end-to-end test's. Council A has 5 referrals in September 2026 and 8 in October (6
to the north team, 2 to the south); council B has 7 in October, to a team it also calls
"team-north". Issue 18: "Small numbers are suppressed (fewer than 5 people) where a figure
leaves the organisation"."""

from __future__ import annotations

from typing import Any

import pytest

from services.outcomes.measures.base import GroupBy
from services.outcomes.measures.registry import MEASURES as REGISTRY
from shared.clock import ManualClock
from shared.settings import HearthSettings
from tests.helpers import pdf_text
from tests.identity import bearer
from tests.outcomes.outputs_data import (
    COUNCIL_A,
    COUNCIL_B,
    NORTH,
    SOUTH,
    TODAY,
    RunningOutcomes,
    all_facts,
    cases,
    get,
    running_outcomes,
)

pytestmark = pytest.mark.integration

MANAGER_A = bearer(COUNCIL_A, roles=["service-manager"])
MANAGER_B = bearer(COUNCIL_B, roles=["service-manager"])
AUDITOR_A = bearer(COUNCIL_A, roles=["auditor"])
LEADER_SOUTH = bearer(COUNCIL_A, roles=["team-leader"], teams=[SOUTH], caseworker_id="lead-s")
LEADER_NO_TEAM = bearer(COUNCIL_A, roles=["team-leader"])
CASEWORKER_A = bearer(COUNCIL_A, roles=["caseworker"], teams=[NORTH], caseworker_id="worker-n1")
INCOME_OFFICER_A = bearer(COUNCIL_A, roles=["income-officer"])
OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}
MEASURE = "/v1/outcomes/measures/referrals"


def _figures(body: dict[str, Any]) -> dict[str, tuple[Any, Any, bool]]:
    """{group value: (value, count, suppressed)}; "" for the organisation."""
    return {
        "/".join(f["group"].values()): (f["value"], f["count"], f["suppressed"])
        for f in body["figures"]
    }


def _case_ids(organisation: str) -> set[str]:
    return {case.case_id for case in cases() if case.organisation == organisation}


# --- refusals first -----------------------------------------------------------------------------

ROUTES: tuple[tuple[str, dict[str, str]], ...] = (
    ("/v1/outcomes/measures", {}),
    (MEASURE, {}),
    ("/v1/outcomes/charts/referrals.svg", {}),
    ("/v1/outcomes/charts/referrals.png", {}),
    ("/v1/outcomes/reports/monthly.pdf", {"month": "2026-10"}),
    ("/v1/returns/hclic", {"quarter": "2026-Q3"}),
    ("/v1/returns/hclic.csv", {"quarter": "2026-Q3"}),
    ("/v1/returns/hclic/errors", {"quarter": "2026-Q3"}),
)


async def test_no_token_is_401_and_a_role_without_reports_is_403_on_every_route(
    service: RunningOutcomes,
) -> None:
    for path, params in ROUTES:
        await get(service, path, None, 401, **params)
        # A caseworker reads their cases, never the organisation's figures or its return.
        await get(service, path, CASEWORKER_A, 403, **params)
        await get(service, path, INCOME_OFFICER_A, 403, **params)
    for path, params in ROUTES[:5]:  # figures: not the auditor's
        await get(service, path, AUDITOR_A, 403, **params)
    for path, params in ROUTES[5:]:  # the statutory return: not a team leader's
        await get(service, path, LEADER_SOUTH, 403, **params)


async def test_refusals_of_a_team_leader_and_bad_queries_name_the_field(
    service: RunningOutcomes,
) -> None:
    refused = await get(service, MEASURE, LEADER_SOUTH, 403, team=NORTH)
    assert refused.json()["errors"][0]["field"] == "team"
    refused = await get(service, MEASURE, LEADER_NO_TEAM, 403, group_by="caseworker")
    assert refused.json()["errors"][0]["field"] == "group_by"
    await get(service, "/v1/outcomes/charts/referrals.svg", LEADER_SOUTH, 403, team=NORTH)
    report = "/v1/outcomes/reports/monthly.pdf"
    await get(service, report, LEADER_SOUTH, 403, month="2026-10", team=NORTH)
    cases = [
        (MEASURE, {"from": "2026-10-31", "to": "2026-10-01"}, "from"),
        (MEASURE, {"from": "2020-01-01", "to": "2025-06-30"}, "to"),
        (MEASURE, {"as_of": "2026-11-17"}, "as_of"),
        ("/v1/outcomes/reports/monthly.pdf", {"month": "2026-13"}, "month"),
        ("/v1/outcomes/reports/monthly.pdf", {"month": "2026-12"}, "month"),  # not begun
        ("/v1/returns/hclic", {"quarter": "2026-Q5"}, "quarter"),
        ("/v1/returns/hclic/errors", {"quarter": "2026-Q4"}, "quarter"),  # January 2027
    ]
    for path, params, field in cases:
        answer = await get(service, path, MANAGER_A, 422, **params)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in answer.json()["errors"]] == [field], answer.text
        assert answer.json()["detail"].startswith(f"{field}: ")
    answer = await get(service, "/v1/outcomes/measures/no-such-measure", MANAGER_A, 404)
    assert answer.json()["errors"][0]["field"] == "key"
    await get(service, "/v1/outcomes/charts/no-such-measure.png", MANAGER_A, 404)
    await get(service, "/v1/returns/hclic.csv", MANAGER_A, 422, quarter="2026-Q3", section="x")


# --- figures ------------------------------------------------------------------------------------


async def test_a_manager_gets_the_exact_figures_of_their_own_council_only(
    service: RunningOutcomes,
) -> None:
    listed = (await get(service, "/v1/outcomes/measures", MANAGER_A)).json()
    assert listed == [
        {
            "key": "referrals",
            "title": "Referrals received",
            "definition": "Cases referred in the period, by the day the referral was received.",
            "unit": "cases",
        }
    ]
    body = (await get(service, MEASURE, MANAGER_A, **OCTOBER)).json()
    assert body["organisation"] == COUNCIL_A and body["audience"] == "organisation"
    assert (body["start"], body["end"], body["as_of"]) == ("2026-10-01", "2026-10-31", "2026-11-16")
    assert body["teams"] is None
    assert _figures(body) == {"": (8.0, 8, False)}
    by_team = (await get(service, MEASURE, MANAGER_A, group_by="team", **OCTOBER)).json()
    assert _figures(by_team) == {NORTH: (6.0, 6, False), SOUTH: (2.0, 2, False)}
    by_worker = (await get(service, MEASURE, MANAGER_A, group_by="caseworker", **OCTOBER)).json()
    assert _figures(by_worker) == {
        "worker-n1": (4.0, 4, False),
        "worker-n2": (2.0, 2, False),
        "worker-s1": (2.0, 2, False),
    }
    by_month = await get(
        service, MEASURE, MANAGER_A, group_by="month", **{"from": "2026-09-01", "to": "2026-10-31"}
    )
    assert _figures(by_month.json()) == {"2026-09": (5.0, 5, False), "2026-10": (8.0, 8, False)}
    # By default: the twelve months to today.
    assert _figures((await get(service, MEASURE, MANAGER_A)).json()) == {"": (13.0, 13, False)}
    # Council B's "team-north" is its own: council A's figures never reach it, nor B's A's.
    other = (await get(service, MEASURE, MANAGER_B, group_by="team", **OCTOBER)).json()
    assert other["organisation"] == COUNCIL_B
    assert _figures(other) == {NORTH: (7.0, 7, False)}
    worker = (await get(service, MEASURE, MANAGER_B, group_by="caseworker", **OCTOBER)).json()
    assert _figures(worker) == {"worker-b1": (7.0, 7, False)}


async def test_public_figures_and_csv_downloads_withhold_small_numbers(
    service: RunningOutcomes,
) -> None:
    public = await get(service, MEASURE, MANAGER_A, group_by="team", audience="public", **OCTOBER)
    assert public.json()["audience"] == "public"
    assert _figures(public.json()) == {NORTH: (6.0, 6, False), SOUTH: (None, None, True)}
    withheld = next(f for f in public.json()["figures"] if f["suppressed"])
    assert withheld["numerator"] is None and withheld["extra"] == {}

    # A CSV leaves the service: public unless the exact figures are asked for.
    csv = await get(service, MEASURE, MANAGER_A, group_by="team", format="csv", **OCTOBER)
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    assert csv.text.split("\r\n") == [
        "team_id,value,count,numerator,suppressed",
        "team-north,6,6,,false",
        "team-south,,,,true",
        "",
    ]
    exact = await service.http.get(
        MEASURE,
        headers=MANAGER_A | {"Accept": "text/csv"},
        params={"group_by": "team", "audience": "organisation", **OCTOBER},
    )
    assert exact.status_code == 200 and exact.headers["content-type"].startswith("text/csv")
    assert "team-south,2,2,,false" in exact.text.split("\r\n")
    by_month = await get(
        service,
        MEASURE,
        MANAGER_A,
        group_by="month",
        format="csv",
        **{"from": "2026-09-01", "to": "2026-10-31"},
    )
    assert by_month.text.split("\r\n")[:3] == [
        "month,value,count,numerator,suppressed",
        "2026-09,5,5,,false",
        "2026-10,8,8,,false",
    ]


async def test_a_team_leader_sees_their_own_teams_rows_only(service: RunningOutcomes) -> None:
    whole = (await get(service, MEASURE, LEADER_SOUTH, **OCTOBER)).json()
    assert whole["teams"] == [SOUTH]
    assert _figures(whole) == {"": (2.0, 2, False)}
    by_team = (await get(service, MEASURE, LEADER_SOUTH, group_by="team", **OCTOBER)).json()
    assert _figures(by_team) == {SOUTH: (2.0, 2, False)}
    by_worker = await get(service, MEASURE, LEADER_SOUTH, group_by="caseworker", **OCTOBER)
    assert _figures(by_worker.json()) == {"worker-s1": (2.0, 2, False)}
    csv = await get(service, MEASURE, LEADER_SOUTH, group_by="caseworker", format="csv")
    assert NORTH not in csv.text and "worker-n1" not in csv.text
    mine = (await get(service, MEASURE, LEADER_SOUTH, team=SOUTH, **OCTOBER)).json()
    assert _figures(mine) == {"": (2.0, 2, False)}


# --- charts and the report ----------------------------------------------------------------------


async def test_charts_are_svg_or_png_always_withholding_small_numbers(
    service: RunningOutcomes,
) -> None:
    path = "/v1/outcomes/charts/referrals.svg"
    params = {"from": "2026-09-01", "to": "2026-10-31"}
    first = await get(service, path, MANAGER_A, **params)
    assert first.headers["content-type"] == "image/svg+xml"
    assert first.content.startswith(b"<?xml") and len(first.content) > 3_000
    assert "Referrals received" in first.text and "Oct 2026" in first.text
    again = await get(service, path, MANAGER_A, **params)
    assert again.content == first.content  # the same figures, the same bytes
    bars = await get(service, path, MANAGER_A, group_by="team", **OCTOBER)
    assert NORTH in bars.text and SOUTH in bars.text
    assert "fewer than 5 people" in bars.text  # the south team's 2: withheld
    png = await get(service, "/v1/outcomes/charts/referrals.png", MANAGER_A, **params)
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG") and len(png.content) > 5_000
    sharper = await get(service, "/v1/outcomes/charts/referrals.png", MANAGER_A, dpi=200)
    assert len(sharper.content) > len(png.content)
    bad = await get(service, "/v1/outcomes/charts/referrals.png", MANAGER_A, 422, dpi="many")
    assert bad.json()["errors"][0]["field"] == "query.dpi"
    leader = await get(service, path, LEADER_SOUTH, group_by="team", **OCTOBER)
    assert SOUTH in leader.text and NORTH not in leader.text


async def test_the_monthly_report_is_a_pdf_of_the_month_with_small_numbers_withheld(
    service: RunningOutcomes,
) -> None:
    path = "/v1/outcomes/reports/monthly.pdf"
    answer = await get(service, path, MANAGER_A, month="2026-10")
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    text = pdf_text(answer.content)
    assert "October 2026" in text and "12 months to October 2026" in text
    assert COUNCIL_A in text and "As known on 2026-11-16" in text
    assert "Referrals received" in text and "by the day the referral was received" in text
    assert "8 cases" in text and "13 cases" in text
    leader = pdf_text((await get(service, path, LEADER_SOUTH, month="2026-10")).content)
    assert f"Covers: {SOUTH}" in leader
    assert "withheld *" in leader and "8 cases" not in leader  # their team's 2


# --- the H-CLIC return --------------------------------------------------------------------------


async def test_the_hclic_return_holds_the_councils_own_cases_as_json_csv_and_errors(
    service: RunningOutcomes,
) -> None:
    mine, theirs = _case_ids(COUNCIL_A), _case_ids(COUNCIL_B)
    body = (await get(service, "/v1/returns/hclic", MANAGER_A, quarter="2026-Q3")).json()
    assert (body["council"], body["label"]) == (COUNCIL_A, "2026-27 Q3")
    assert (body["start"], body["end"]) == ("2026-10-01", "2026-12-31")
    sections = {s["name"]: s["rows"] for s in body["sections"]}
    main = {row["case_id"] for row in sections["main"]}
    assert main == mine  # September's cases are still open in October
    assert body["cases"] == len(mine)
    earlier = (await get(service, "/v1/returns/hclic", MANAGER_A, quarter="2026-Q2")).json()
    assert {r["case_id"] for r in earlier["sections"][0]["rows"]} == {
        c for c in mine if c.startswith("a-sep")
    }

    csv = await get(service, "/v1/returns/hclic.csv", MANAGER_A, quarter="2026-Q3")
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().split("\r\n")
    assert len(lines) == 1 + len(mine)
    refs = {row["case_ref"] for row in sections["main"]}
    assert all(any(ref in line for line in lines) for ref in refs)
    assert not any(case_id in csv.text for case_id in mine)  # Hearth's ids stay home
    support = await get(
        service, "/v1/returns/hclic.csv", MANAGER_A, quarter="2026-Q3", section="support"
    )
    assert len(support.text.strip().split("\r\n")) == 1 + len(mine)

    errors = (await get(service, "/v1/returns/hclic/errors", AUDITOR_A, quarter="2026-Q3")).json()
    assert errors["council"] == COUNCIL_A
    assert {e["case_id"] for e in errors["errors"]} <= mine
    assert body["errors"] == len(errors["errors"])
    assert all(e["field"] and e["message"] and e["fixable_in"] for e in errors["errors"])
    other = (await get(service, "/v1/returns/hclic", MANAGER_B, quarter="2026-Q3")).json()
    assert {r["case_id"] for r in other["sections"][0]["rows"]} == theirs


# --- the registry's own measures through the same API ---------------------------------------------


async def test_every_measure_of_the_registry_answers_json_csv_a_chart_and_the_report(
    settings: HearthSettings,
) -> None:
    async with running_outcomes(settings, ManualClock(TODAY)) as service:
        await service.store.record(all_facts())
        listed = (await get(service, "/v1/outcomes/measures", MANAGER_A)).json()
        assert [m["key"] for m in listed] == list(REGISTRY)
        for key in REGISTRY:
            path = f"/v1/outcomes/measures/{key}"
            for group_by in GroupBy:
                body = (await get(service, path, MANAGER_A, group_by=group_by.value)).json()
                assert (body["key"], body["group_by"]) == (key, group_by.value)
            csv = await get(service, path, MANAGER_A, format="csv")
            assert csv.text.split("\r\n")[0].endswith("value,count,numerator,suppressed")
        for key in list(REGISTRY)[:3]:
            await get(service, f"/v1/outcomes/charts/{key}.svg", MANAGER_A)
        report = await get(service, "/v1/outcomes/reports/monthly.pdf", MANAGER_A, month="2026-10")
        text = pdf_text(report.content)
        assert all(measure.title.split(" (")[0][:30] in text for measure in REGISTRY.values())


async def test_caseworkers_get_the_returns_errors_of_the_cases_in_their_reach_only(
    service: RunningOutcomes,
) -> None:
    """Issue 18: "a per-case error list a caseworker can fix before submission"."""
    everything = (
        await get(service, "/v1/returns/hclic/errors", MANAGER_A, quarter="2026-Q3")
    ).json()["errors"]
    teams = {case.case_id: case.team_id for case in cases()}
    north = [e for e in everything if teams[e["case_id"]] == NORTH]
    assert north and len(north) < len(everything)  # the fixture has errors on both teams
    path = "/v1/returns/hclic/case-errors"
    mine = (await get(service, path, CASEWORKER_A, quarter="2026-Q3")).json()["errors"]
    assert mine == north
    leader = (await get(service, path, LEADER_SOUTH, quarter="2026-Q3")).json()["errors"]
    assert {teams[e["case_id"]] for e in leader} == {SOUTH}
    await get(service, path, None, 401, quarter="2026-Q3")
    await get(service, path, INCOME_OFFICER_A, 403, quarter="2026-Q3")
    theirs = (await get(service, path, MANAGER_B, quarter="2026-Q3")).json()["errors"]
    assert not {e["case_id"] for e in theirs} & {e["case_id"] for e in everything}
