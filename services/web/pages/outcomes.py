"""The Outcomes page: did the support work? Each measure of the outcomes service (tenancies
sustained, arrears, turnover against Derby's 10 % target, repeat presentations, waits, stages,
reconnections, demand) as a headline figure with its definition, and its months as a chart the
web app draws itself (services/web/charts.py) with the same figures in a table beside it.

Everything comes from the outcomes API with the person's own token, in one call (its summary
of the period: every measure's figure, definition and months): the API decides the
organisation, a team leader's teams and which small numbers are withheld. Downloads (a
measure's CSV, the monthly PDF report) are proxied here, so the browser never talks to a
service itself."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.web.backend import ApiError, Backend
from services.web.charts import Chart, Datum, figure
from services.web.context import Viewer, ViewerDep
from services.web.pages.dashboard import Source, fetch, organisation_figure
from services.web.rendering import money, refused, render, words
from shared.policy import Permission

router = APIRouter()
Json = dict[str, Any]

FEWER_THAN_5 = "Fewer than 5"
NO_FIGURE = "No figure"
MEASURE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MONTH_NAMES = "January February March April May June July August September October November "
MONTH_NAMES += "December"
UNIT_HEADINGS = {
    "percent": "Per cent",
    "days": "Days",
    "pounds": "Pounds",
    "people": "People",
    "cases": "Cases",
    "hours": "Hours",
}
# Extras a reader needs named in words; any other extra is shown with its code as words.
EXTRA_LABELS = {
    "p90": "Nine in ten within",
    "target": "Target",
    "target_days": "Target (days)",
    "met": "Target met",
    "awaiting_follow_up": "Not yet followed up",
    "not_yet_due": "Follow-ups not yet due",
}


# --- the period (pure) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    key: str
    label: str  # "Last 12 months (1 January 2026 to 1 December 2026)"
    start: date
    end: date

    @property
    def dates(self) -> str:
        return f"{long_date(self.start)} to {long_date(self.end)}"

    @property
    def months(self) -> list[date]:
        """The first day of every month in the period, oldest first."""
        first = date(self.start.year, self.start.month, 1)
        out = []
        while first <= self.end:
            out.append(first)
            first = next_month(first)
        return out


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def months_back(day: date, months: int) -> date:
    """The first of the month `months` before `day`'s month."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def periods(today: date) -> dict[str, Period]:
    """The periods a person may pick: this calendar quarter so far, and the last 12 months
    (from the first of the month eleven months back, as the outcomes API's default)."""
    quarter = quarter_start(today)
    year = months_back(today, 11)
    return {
        "quarter": Period(
            "quarter", f"This quarter ({long_date(quarter)} to {long_date(today)})", quarter, today
        ),
        "year": Period(
            "year", f"Last 12 months ({long_date(year)} to {long_date(today)})", year, today
        ),
    }


DEFAULT_PERIOD = "year"


def long_date(day: date) -> str:
    return f"{day.day} {month_name(day)} {day.year}"


def month_name(day: date) -> str:
    return MONTH_NAMES.split()[day.month - 1]


def month_label(first: date) -> str:
    """The outcomes API's month group: `2026-10`."""
    return f"{first.year:04d}-{first.month:02d}"


def short_month(first: date) -> str:
    return f"{month_name(first)[:3]} {first.year}"


def parse_month(text: str) -> date | None:
    match = MONTH.match(text)
    return None if match is None else date(int(match[1]), int(match[2]), 1)


# --- figures (pure) ------------------------------------------------------------------------


def amount(value: float | None, unit: str) -> str:
    """A figure with its unit, as people write it: 12.5%, 14 days, £1,250.00, 3 people."""
    if value is None:
        return NO_FIGURE
    if unit == "percent":
        return f"{figure(value)}%"
    if unit == "pounds":
        return money(value)
    if unit == "days":
        return f"{figure(value)} day{'' if value == 1 else 's'}"
    if unit in ("people", "cases", "hours"):
        noun = {"people": ("person", "people"), "cases": ("case", "cases")}.get(
            unit, ("hour", "hours")
        )
        return f"{figure(value)} {noun[0] if value == 1 else noun[1]}"
    return figure(value)


def shown(fig: Json | None, unit: str) -> str:
    """A figure's value as the page shows it; a withheld one as "Fewer than 5"."""
    if fig is None:
        return NO_FIGURE
    if fig.get("suppressed"):
        return FEWER_THAN_5
    return amount(fig.get("value"), unit)


def counted(fig: Json | None) -> str:
    """What the figure is made from: "3 of 12" for a rate, else the count (none: nothing
    fell in the group)."""
    if fig is None:
        return "0"
    if fig.get("suppressed") or fig.get("count") is None:
        return FEWER_THAN_5 if fig.get("suppressed") else "0"
    count = int(fig["count"])
    numerator = fig.get("numerator")
    return f"{numerator:,} of {count:,}" if numerator is not None and count else f"{count:,}"


def extras(fig: Json | None, unit: str) -> list[tuple[str, str]]:
    """The figure's further numbers, named in words."""
    if fig is None or fig.get("suppressed"):
        return []
    rows = []
    for name, value in (fig.get("extra") or {}).items():
        if value is None:
            continue
        label = EXTRA_LABELS.get(name, words(name))
        if isinstance(value, bool):
            text = "Yes" if value else "No"
        elif isinstance(value, int | float) and name in ("p90", "target_days"):
            text = amount(float(value), "days")
        elif isinstance(value, int | float) and name == "target":
            text = f"Below {amount(float(value), unit)}" if unit == "percent" else figure(value)
        elif isinstance(value, int | float):
            text = figure(float(value))
        else:
            text = str(value)
        rows.append((label, text))
    return rows


@dataclass(frozen=True)
class MonthRow:
    label: str
    text: str  # the value as shown, "Fewer than 5" or "No figure"
    count: str


@dataclass
class MeasureBlock:
    """One measure on the page: its headline figure, its months as a chart and a table."""

    key: str
    title: str
    definition: str
    unit: str
    headline: Json | None = None
    months: list[MonthRow] = field(default_factory=list)
    chart: Chart | None = None
    teams: list[str] | None = None

    @property
    def value(self) -> str:
        return shown(self.headline, self.unit)

    @property
    def counted(self) -> str:
        return counted(self.headline)

    @property
    def extras(self) -> list[tuple[str, str]]:
        return extras(self.headline, self.unit)

    @property
    def suppressed_months(self) -> bool:
        return any(row.text == FEWER_THAN_5 for row in self.months)


def by_month(monthly: Json | None) -> dict[str, Json]:
    """The monthly figures by their month (`2026-10`)."""
    return {str(f.get("group", {}).get("month")): f for f in (monthly or {}).get("figures", [])}


def month_rows(monthly: Json | None, period: Period) -> list[MonthRow]:
    """Every month of the period, oldest first, with its figure or why there is none."""
    unit = str((monthly or {}).get("unit", ""))
    found = by_month(monthly)
    return [
        MonthRow(short_month(first), shown(fig, unit), counted(fig))
        for first in period.months
        for fig in [found.get(month_label(first))]
    ]


def month_chart(summary: Json, monthly: Json | None, period: Period) -> Chart:
    """The months that have a figure, as a line; withheld and empty months are left out of the
    drawing (the table beside it says which, and why)."""
    unit = str(summary.get("unit", ""))
    found = by_month(monthly)
    data = []
    for first in period.months:
        fig = found.get(month_label(first))
        if fig and not fig.get("suppressed") and fig.get("value") is not None:
            data.append(Datum(short_month(first), float(fig["value"])))
    return Chart(
        key=f"chart-{summary['key']}",
        title=f"{summary['title']}, by month",
        description=f"{summary['title']} in each month of the period "
        f"({UNIT_HEADINGS.get(unit, unit).lower()}). Months with fewer than 5 people, or "
        "nothing to measure, are left out.",
        data=tuple(data),
        label_heading="Month",
        value_heading=UNIT_HEADINGS.get(unit, "Figure"),
        kind="line",
    )


# --- the calls -----------------------------------------------------------------------------


def span(period: Period) -> dict[str, str]:
    return {"from": period.start.isoformat(), "to": period.end.isoformat()}


def measure_block(entry: Json, period: Period) -> MeasureBlock:
    """One measure of the outcomes summary: its figure for the period and its months."""
    key = str(entry["key"])
    unit = str(entry.get("unit") or "")
    block = MeasureBlock(
        key, str(entry.get("title") or words(key)), str(entry.get("definition") or ""), unit
    )
    block.headline = organisation_figure(entry)
    monthly = {"unit": unit, "figures": entry.get("months") or []}
    block.months = month_rows(monthly, period)
    block.chart = month_chart({"key": key, "title": block.title, "unit": unit}, monthly, period)
    return block


async def blocks(api: Backend, period: Period) -> tuple[Source, list[MeasureBlock]]:
    """Every measure, from one call: the outcomes service's summary of the period."""
    found = await fetch(api.get("outcomes", "/outcomes/summary", **span(period)))
    answer = found.data if isinstance(found.data, dict) else {}
    entries = [
        entry
        for entry in answer.get("measures") or []
        if isinstance(entry, dict) and MEASURE_KEY.match(str(entry.get("key", "")))
    ]
    made = [measure_block(entry, period) for entry in entries]
    for block in made:
        block.teams = answer.get("teams")
    return found, made


def _today() -> date:
    return datetime.now(UTC).date()


def _period(period: str, today: date) -> tuple[Period, dict[str, str]]:
    choices = periods(today)
    if period in choices:
        return choices[period], {}
    return choices[DEFAULT_PERIOD], {
        "period": "Select a period: this quarter or the last 12 months"
    }


# --- the pages -----------------------------------------------------------------------------


@router.get("/outcomes", response_class=HTMLResponse)
async def outcomes(
    request: Request, viewer: ViewerDep, period: str = DEFAULT_PERIOD
) -> HTMLResponse:
    if not viewer.may(Permission.REPORTS):
        return refused(request, viewer)
    today = _today()
    chosen, errors = _period(period, today)
    listed, found = (Source(), []) if errors else await blocks(viewer.api, chosen)
    teams = next((b.teams for b in found if b.teams is not None), None)
    return render(
        request,
        viewer,
        "outcomes/index.html",
        status=400 if errors else 200,
        errors=errors,
        values={"period": period if not errors else ""},
        period_options=[(p.key, p.label) for p in periods(today).values()],
        period=chosen,
        listed=listed,
        blocks=found,
        teams=teams,
        report_months=[(month_label(m), f"{month_name(m)} {m.year}") for m in chosen.months[::-1]],
        report_month=report_month(chosen, today),
        generated_at=datetime.now(UTC),
    )


def _download(content: Any, media_type: str, filename: str) -> Response:
    body = content if isinstance(content, bytes) else str(content).encode()
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/outcomes/measures/{key}.csv")
async def measure_csv(
    request: Request, viewer: ViewerDep, key: str, period: str = DEFAULT_PERIOD
) -> Response:
    """A measure's monthly figures over the period as CSV, small numbers withheld (a file is
    made to be passed on: the outcomes API's default for a CSV)."""
    if not viewer.may(Permission.REPORTS):
        return refused(request, viewer)
    if not MEASURE_KEY.match(key):
        raise ApiError("outcomes", 404, "no such measure")
    chosen, errors = _period(period, _today())
    if errors:
        return _bad_request(request, viewer, errors["period"])
    params = {**span(chosen), "group_by": "month", "format": "csv"}
    content = await viewer.api.call("GET", "outcomes", f"/outcomes/measures/{key}", params=params)
    name = f"{key}_{chosen.start.isoformat()}_{chosen.end.isoformat()}.csv"
    return _download(content, "text/csv; charset=utf-8", name)


@router.get("/outcomes/report.pdf")
async def monthly_report(request: Request, viewer: ViewerDep, month: str = "") -> Response:
    """The outcomes service's monthly PDF report for a service manager."""
    if not viewer.may(Permission.REPORTS):
        return refused(request, viewer)
    first = parse_month(month)
    if first is None or first > _today():
        return _bad_request(request, viewer, "Select a month from the list")
    content = await viewer.api.get("outcomes", "/outcomes/reports/monthly.pdf", month=month)
    return _download(content, "application/pdf", f"outcomes-{month}.pdf")


def _bad_request(request: Request, viewer: Viewer, line: str) -> HTMLResponse:
    return render(
        request,
        viewer,
        "error.html",
        status=400,
        heading="There is a problem with the address",
        lines=[line, "Go back to the Outcomes page and choose again."],
    )


def report_month(period: Period, today: date) -> str:
    """The month the report form offers first: the last whole month, when the period has it
    (the report a manager takes to a meeting), else the period's latest month."""
    last_whole = months_back(today, 1)
    months = period.months
    return month_label(last_whole if last_whole in months else months[-1])
