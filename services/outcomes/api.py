"""HTTP API of the outcomes service. Every route answers for the caller's organisation only,
and a team leader's figures cover their own teams only.

Who the figures are for (`audience`):
- `organisation`: the exact figures, for the organisation's own staff. The default of a
  measure's JSON.
- `public`: small numbers withheld (fewer than 5 people, `suppression.py`), for anything that
  leaves the organisation. The default of a CSV download (a file is made to be passed on; ask
  for `audience=organisation` to get the exact one), and always the case for charts and the
  monthly PDF report, which have no other audience.

The H-CLIC return is the council's statutory extract: case-level rows and the per-case
errors to fix before submission, for those who make or check the return (`returns.read`:
service managers and auditors), and every read of it is audited with the cases it showed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from services.outcomes import charts, reporting
from services.outcomes.hclic.case_ref import CaseRefKeyError
from services.outcomes.hclic.extract import Extract, extract
from services.outcomes.hclic.fields import Section
from services.outcomes.hclic.validation import validate
from services.outcomes.measures.base import GroupBy, Measure, MeasureQuery, MeasureResult
from services.outcomes.measures.registry import MEASURES
from services.outcomes.periods import Period, PeriodError, in_range, month, period, quarter
from services.outcomes.report_pdf import render_monthly_report
from services.outcomes.store import OutcomesStore
from services.outcomes.views import (
    Audience,
    MeasureSummary,
    MeasureView,
    OutcomesSummary,
    ReturnErrors,
    ReturnView,
    errors_view,
    measure_csv,
    measure_view,
    return_view,
    summary,
    summary_view,
)
from shared.auth import Caller, CallerDep, access_of, audit_listed
from shared.clock import Clock
from shared.codes import Route
from shared.policy import Reach
from shared.settings import HearthSettings

CSV = "text/csv"
SVG = "image/svg+xml"
PNG = "image/png"
PDF = "application/pdf"

MeasureKey = Annotated[
    str,
    Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$", description="a measure's key"),
]
From = Annotated[
    date | None,
    Query(alias="from", description="the period's first day; default: twelve months to `to`"),
]
To = Annotated[
    date | None, Query(alias="to", description="the period's last day, inclusive; default: as_of")
]
AsOf = Annotated[
    date | None,
    Query(
        description="figures as known on this day (a follow-up not yet due is not counted); "
        "default: today"
    ),
]
Team = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="only this team (one of the caller's)"),
]
AudienceQuery = Annotated[
    Audience | None,
    Query(
        description="organisation: the exact figures (JSON's default); public: small numbers "
        "withheld (CSV's default)"
    ),
]
QuarterText = Annotated[
    str,
    Query(
        alias="quarter",
        min_length=7,
        max_length=7,
        description="a quarter of the financial year, as H-CLIC's: 2026-Q3 = Oct to Dec 2026",
    ),
]

measures_router = APIRouter(prefix="/outcomes", tags=["outcomes"])
returns_router = APIRouter(prefix="/returns", tags=["returns"])


def routers() -> list[APIRouter]:
    return [measures_router, returns_router]


# --- what every route reads -------------------------------------------------------------------


def _store(request: Request) -> OutcomesStore:
    store: OutcomesStore = request.app.state.store
    return store


def _today(request: Request) -> date:
    clock: Clock = request.app.state.clock
    return clock.now().date()


def published(request: Request) -> Mapping[str, Measure]:
    """The measures this service publishes: the registry's, unless the app was given its own
    (`app.state.measures`)."""
    given: Mapping[str, Measure] | None = getattr(request.app.state, "measures", None)
    return MEASURES if given is None else given


def _measure(request: Request, key: str) -> Measure:
    found = published(request).get(key)
    if found is None:
        raise HTTPException(404, f"key: no measure {key!r}; GET /v1/outcomes/measures lists them")
    return found


def _refuse(request: Request, reason: str) -> HTTPException:
    access_of(request).refusal = reason  # audited as a refusal, as the access check's are
    return HTTPException(403, reason)


def teams_in_reach(
    request: Request, caller: Caller, team: str | None, group_by: GroupBy
) -> frozenset[str] | None:
    """The teams the figures may cover: None (the whole organisation) for those who reach
    it; a team leader's own teams, or the one of them asked for; never another team."""
    if caller.reach >= Reach.ORGANISATION:
        return None if team is None else frozenset({team})
    mine = frozenset(caller.principal.teams)
    if team is not None and team not in mine:
        raise _refuse(request, "team: figures reach only your own teams")
    if group_by is GroupBy.CASEWORKER and not mine:
        raise _refuse(request, "group_by: caseworker figures reach only your own teams' workers")
    return mine if team is None else frozenset({team})


def _period(start: date | None, end: date | None, as_of: date | None, today: date) -> Period:
    if as_of is not None and as_of > today:
        raise HTTPException(422, "as_of: must not be after today")
    try:
        in_range(as_of, "as_of")
        return period(start, end, as_of or today)
    except PeriodError as exc:
        raise HTTPException(422, str(exc)) from exc


async def _result(
    request: Request,
    caller: Caller,
    measure: Measure,
    asked: Period,
    as_of: date,
    group_by: GroupBy,
    route: Route | None,
    team: str | None,
    audience: Audience,
) -> MeasureResult:
    query = _query(request, caller, asked, as_of, group_by, route, team)
    data = await reporting.load(_store(request), caller.organisation)
    # The folds and the figures are CPU work: off the event loop.
    return await asyncio.to_thread(reporting.run, measure, data, query, audience)


def _query(
    request: Request,
    caller: Caller,
    asked: Period,
    as_of: date,
    group_by: GroupBy,
    route: Route | None,
    team: str | None,
) -> MeasureQuery:
    """The caller's question, within their reach (a refusal when it is not)."""
    return MeasureQuery(
        caller.organisation,
        asked.start,
        asked.end,
        as_of,
        group_by,
        teams_in_reach(request, caller, team, group_by),
        None if route is None else route.value,
    )


# --- measures -----------------------------------------------------------------------------------


@measures_router.get("/measures", response_model=list[MeasureSummary])
async def list_measures(request: Request, caller: CallerDep) -> list[MeasureSummary]:
    """Every measure: its key, title, definition and unit."""
    return [summary(measure) for measure in published(request).values()]


@measures_router.get(
    "/measures/{key}",
    response_model=MeasureView,
    responses={200: {"content": {CSV: {"schema": {"type": "string"}}}}},
)
async def get_measure(
    request: Request,
    caller: CallerDep,
    key: MeasureKey,
    start: From = None,
    end: To = None,
    group_by: GroupBy = GroupBy.ORGANISATION,
    route: Route | None = None,
    as_of: AsOf = None,
    team: Team = None,
    audience: AudienceQuery = None,
    output: Annotated[
        Literal["json", "csv"] | None,
        Query(alias="format", description="csv: a CSV download (or send `Accept: text/csv`)"),
    ] = None,
) -> Any:
    """One measure's figures for a period, by organisation, team, caseworker, route or month,
    as JSON, or as CSV (a header row naming the group's fields, then value, count, numerator,
    suppressed). A CSV is public unless `audience=organisation` is asked for."""
    measure = _measure(request, key)
    today = _today(request)
    asked = _period(start, end, as_of, today)
    as_csv = output == "csv" or (output is None and CSV in request.headers.get("accept", ""))
    audience = audience or ("public" if as_csv else "organisation")
    result = await _result(
        request, caller, measure, asked, as_of or today, group_by, route, team, audience
    )
    if not as_csv:
        return measure_view(result, audience)
    name = f"{key}_{asked.start.isoformat()}_{asked.end.isoformat()}.csv"
    return Response(
        measure_csv(result),
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@measures_router.get("/summary", response_model=OutcomesSummary)
async def outcomes_summary(
    request: Request,
    caller: CallerDep,
    start: From = None,
    end: To = None,
    route: Route | None = None,
    as_of: AsOf = None,
    team: Team = None,
    audience: AudienceQuery = None,
) -> OutcomesSummary:
    """Every measure for a period in one answer: its title, definition and unit, its figure
    for the period (as `group_by=organisation`) and its months (as `group_by=month`), the same
    figures, reach and small-number withholding as each measure's own route."""
    today = _today(request)
    asked = _period(start, end, as_of, today)
    audience = audience or "organisation"
    query = _query(request, caller, asked, as_of or today, GroupBy.ORGANISATION, route, team)
    data = await reporting.load(_store(request), caller.organisation)
    results = await asyncio.to_thread(reporting.summary, published(request), data, query, audience)
    return summary_view(results, query, audience)


# --- charts -------------------------------------------------------------------------------------

ChartGroup = Annotated[
    GroupBy, Query(description="month: a line over the period; anything else: a bar per group")
]


async def _chart(
    request: Request,
    caller: Caller,
    key: str,
    start: date | None,
    end: date | None,
    group_by: GroupBy,
    route: Route | None,
    as_of: date | None,
    team: str | None,
) -> MeasureResult:
    measure = _measure(request, key)
    today = _today(request)
    asked = _period(start, end, as_of, today)
    return await _result(
        request, caller, measure, asked, as_of or today, group_by, route, team, "public"
    )


@measures_router.get(
    "/charts/{key}.svg", response_class=Response, responses={200: {"content": {SVG: {}}}}
)
async def chart_svg(
    request: Request,
    caller: CallerDep,
    key: MeasureKey,
    start: From = None,
    end: To = None,
    group_by: ChartGroup = GroupBy.MONTH,
    route: Route | None = None,
    as_of: AsOf = None,
    team: Team = None,
) -> Response:
    """The measure as a chart (SVG), small numbers always withheld: a chart is made to be
    shown and passed on."""
    result = await _chart(request, caller, key, start, end, group_by, route, as_of, team)
    return Response(await asyncio.to_thread(charts.svg, result), media_type=SVG)


@measures_router.get(
    "/charts/{key}.png", response_class=Response, responses={200: {"content": {PNG: {}}}}
)
async def chart_png(
    request: Request,
    caller: CallerDep,
    key: MeasureKey,
    start: From = None,
    end: To = None,
    group_by: ChartGroup = GroupBy.MONTH,
    route: Route | None = None,
    as_of: AsOf = None,
    team: Team = None,
    dpi: Annotated[
        int, Query(ge=50, le=300, description="dots per inch: 100 for a screen, 200 for print")
    ] = 100,
) -> Response:
    """The measure as a chart (PNG), small numbers always withheld."""
    result = await _chart(request, caller, key, start, end, group_by, route, as_of, team)
    return Response(await asyncio.to_thread(charts.png, result, dpi), media_type=PNG)


# --- the monthly report -------------------------------------------------------------------------


@measures_router.get(
    "/reports/monthly.pdf", response_class=Response, responses={200: {"content": {PDF: {}}}}
)
async def monthly_report(
    request: Request,
    caller: CallerDep,
    month_text: Annotated[
        str,
        Query(alias="month", min_length=7, max_length=7, description="e.g. 2026-10"),
    ],
    team: Team = None,
) -> Response:
    """The month's report for a service manager: each measure's figure for the month and for
    the twelve months to it, its definition, and charts; small numbers withheld (a report is
    passed on). Figures are as known today."""
    today = _today(request)
    try:
        asked = month(month_text, today)
    except PeriodError as exc:
        raise HTTPException(422, str(exc)) from exc
    teams = teams_in_reach(request, caller, team, GroupBy.ORGANISATION)
    data = await reporting.load(_store(request), caller.organisation)
    measures = published(request)

    def render() -> bytes:
        report = reporting.monthly_report(measures, data, caller.organisation, asked, today, teams)
        return render_monthly_report(report)

    name = f"outcomes-{month_text}.pdf"
    return Response(
        await asyncio.to_thread(render),
        media_type=PDF,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- the H-CLIC return --------------------------------------------------------------------------


def _case_ref_key(request: Request) -> str:
    settings: HearthSettings = request.app.state.settings
    return settings.hclic_case_ref_key.get_secret_value()


async def _extract(request: Request, caller: Caller, quarter_text: str) -> Extract:
    """The caller's council's extract for the quarter, as known today."""
    today = _today(request)
    try:
        asked = quarter(quarter_text, today)
    except PeriodError as exc:
        raise HTTPException(422, str(exc)) from exc
    cases = await _store(request).cases(caller.organisation)
    try:
        return await asyncio.to_thread(
            extract,
            cases,
            caller.organisation,
            asked.start,
            key=_case_ref_key(request),
            made_on=today,  # a date after today is impossible; a later quarter's is not
        )
    except CaseRefKeyError as exc:  # a deployment without its key: nothing to answer yet
        raise HTTPException(503, str(exc)) from exc


@returns_router.get("/hclic", response_model=ReturnView)
async def hclic_return(
    request: Request, caller: CallerDep, quarter_text: QuarterText
) -> ReturnView:
    """The council's H-CLIC-shaped extract for a quarter of the financial year (2026-Q1 =
    April to June 2026): one row per case and section (main, support needs, prevention or
    relief, assistance), keyed by the return's case reference, each beside Hearth's case id."""
    found = await _extract(request, caller, quarter_text)
    errors = await asyncio.to_thread(validate, found)
    audit_listed(request, "case", [c.case_id for c in found.cases])
    return return_view(found, quarter_text, len(errors))


@returns_router.get(
    "/hclic.csv",
    response_class=Response,
    responses={200: {"content": {CSV: {"schema": {"type": "string"}}}}},
)
async def hclic_csv(
    request: Request,
    caller: CallerDep,
    quarter_text: QuarterText,
    section: Annotated[Section, Query(description="which section's rows")] = Section.MAIN,
) -> Response:
    """One section of the extract as CSV, as it is submitted: H-CLIC's columns, keyed by the
    case reference (Hearth's case ids stay out of the file)."""
    found = await _extract(request, caller, quarter_text)
    audit_listed(request, "case", [c.case_id for c in found.cases if section in c.rows])
    name = f"hclic_{quarter_text}_{section.value}.csv"
    return Response(
        found.to_csv(section),
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@returns_router.get("/hclic/errors", response_model=ReturnErrors)
async def hclic_errors(
    request: Request, caller: CallerDep, quarter_text: QuarterText
) -> ReturnErrors:
    """What to fix before submission, case by case: missing mandatory values, impossible
    dates, events out of order, each naming the case, the column and where to fix it."""
    found = await _extract(request, caller, quarter_text)
    errors = await asyncio.to_thread(validate, found)
    audit_listed(request, "case", [e.case_id for e in errors])
    return errors_view(found, quarter_text, errors)


@returns_router.get("/hclic/case-errors", response_model=ReturnErrors)
async def hclic_case_errors(
    request: Request, caller: CallerDep, quarter_text: QuarterText
) -> ReturnErrors:
    """The same errors for the people who fix them: a caseworker's and a team leader's list
    holds only the cases in their reach (their teams' and those they lead), so each can put
    their own cases right before the council submits the return."""
    found = await _extract(request, caller, quarter_text)
    errors = await asyncio.to_thread(validate, found)
    histories = {case.case_id: case.history for case in found.cases}
    mine = [
        error
        for error in errors
        if caller.sees(histories[error.case_id].team_id, histories[error.case_id].lead_worker_id)
    ]
    audit_listed(request, "case", [e.case_id for e in mine])
    return errors_view(found, quarter_text, mine)
