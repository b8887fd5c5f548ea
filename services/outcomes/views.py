"""What the outcomes API answers: the measures' list, one measure's result (JSON or CSV), every
measure's summary for a period, and the H-CLIC extract's rows and errors. Pure: results in,
response models or CSV text out.

A figure marked suppressed shows no number at all (value, count and numerator empty, no
extras), whatever the suppression rule left in it: a reader can never work a withheld small
number back out of the answer.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.outcomes.hclic.extract import Extract
from services.outcomes.hclic.fields import Section
from services.outcomes.hclic.validation import CaseError
from services.outcomes.measures.base import (
    Figure,
    GroupBy,
    Measure,
    MeasureQuery,
    MeasureResult,
    Unit,
)

Audience = Literal["organisation", "public"]
CSV_FIELDS = ("value", "count", "numerator", "suppressed")


class MeasureSummary(BaseModel):
    key: str = Field(description="names the measure in /outcomes/measures/{key}")
    title: str
    definition: str = Field(description="what is counted, in words; published beside the figure")
    unit: Unit


class FigureView(BaseModel):
    group: dict[str, str] = Field(
        description="{} for the whole organisation (or the caller's teams), else e.g. "
        '{"team_id": "t1"} or {"month": "2026-10"}'
    )
    value: float | None = Field(
        description="the rate, amount, days or count; empty when nothing to measure or withheld"
    )
    count: int | None = Field(
        description="the people or cases the figure is about; empty when withheld"
    )
    numerator: int | None = Field(
        None, description="for rates: how many of `count` met the measure"
    )
    suppressed: bool = Field(
        False, description="a small number withheld (fewer than 5 people): no figure is shown"
    )
    extra: dict[str, bool | float | int | str | None] = Field(
        default_factory=dict, description="what else the measure says of the group (e.g. met)"
    )


class MeasureView(BaseModel):
    key: str
    title: str
    definition: str
    unit: Unit
    organisation: str
    start: date = Field(description="the period's first day (the query's `from`)")
    end: date = Field(description="the period's last day (the query's `to`), inclusive")
    as_of: date = Field(description="what was known by this day")
    group_by: GroupBy
    route: str | None = None
    teams: list[str] | None = Field(
        None, description="the teams the figures cover; empty: the whole organisation"
    )
    audience: Audience = Field(
        description="organisation: exact figures; public: small numbers withheld"
    )
    figures: list[FigureView]


class MeasureInSummary(BaseModel):
    key: str
    title: str
    definition: str
    unit: Unit
    figures: list[FigureView] = Field(
        description="the period's figure, as /outcomes/measures/{key}?group_by=organisation"
    )
    months: list[FigureView] = Field(
        description="the period's months, as /outcomes/measures/{key}?group_by=month"
    )


class OutcomesSummary(BaseModel):
    organisation: str
    start: date = Field(description="the period's first day (the query's `from`)")
    end: date = Field(description="the period's last day (the query's `to`), inclusive")
    as_of: date = Field(description="what was known by this day")
    route: str | None = None
    teams: list[str] | None = Field(
        None, description="the teams the figures cover; empty: the whole organisation"
    )
    audience: Audience = Field(
        description="organisation: exact figures; public: small numbers withheld"
    )
    measures: list[MeasureInSummary]


class ReturnRow(BaseModel):
    case_id: str = Field(description="Hearth's case id, to find the case (never in the CSV)")
    case_ref: str = Field(description="the return's stable case identifier")
    values: dict[str, str] = Field(description="the section's H-CLIC columns, by name")


class ReturnSection(BaseModel):
    name: Section
    rows: list[ReturnRow]


class ReturnView(BaseModel):
    council: str
    quarter: str = Field(description="as asked: 2026-Q3, of the financial year from April 2026")
    label: str = Field(description="as H-CLIC names the quarter, e.g. 2026-27 Q3")
    start: date
    end: date
    made_on: date = Field(description="as known on this day")
    cases: int
    sections: list[ReturnSection]
    errors: int = Field(description="how many problems /returns/hclic/errors lists")


class ReturnError(BaseModel):
    case_id: str = Field(description="Hearth's case id: the caseworker finds the case by it")
    section: Section
    field: str = Field(description="the column (or record) that is wrong")
    message: str
    fixable_in: str = Field(description="the Hearth record where it is put right")


class ReturnErrors(BaseModel):
    council: str
    quarter: str
    label: str
    errors: list[ReturnError]


def summary(measure: Measure) -> MeasureSummary:
    return MeasureSummary(
        key=measure.key, title=measure.title, definition=measure.definition, unit=measure.unit
    )


def figure_view(figure: Figure) -> FigureView:
    if figure.suppressed:
        return FigureView(
            group=dict(figure.group), value=None, count=None, numerator=None, suppressed=True
        )
    return FigureView(
        group=dict(figure.group),
        value=figure.value,
        count=figure.count,
        numerator=figure.numerator,
        suppressed=False,
        extra=dict(figure.extra),
    )


def measure_view(result: MeasureResult, audience: Audience) -> MeasureView:
    query = result.query
    return MeasureView(
        key=result.key,
        title=result.title,
        definition=result.definition,
        unit=result.unit,
        organisation=query.organisation,
        start=query.start,
        end=query.end,
        as_of=query.as_of,
        group_by=query.group_by,
        route=query.route,
        teams=None if query.teams is None else sorted(query.teams),
        audience=audience,
        figures=[figure_view(f) for f in result.figures],
    )


def summary_view(
    results: Sequence[tuple[MeasureResult, MeasureResult]], query: MeasureQuery, audience: Audience
) -> OutcomesSummary:
    """Each measure's (whole period, by month) results as one answer; `query` is the period's
    (its group_by aside)."""
    return OutcomesSummary(
        organisation=query.organisation,
        start=query.start,
        end=query.end,
        as_of=query.as_of,
        route=query.route,
        teams=None if query.teams is None else sorted(query.teams),
        audience=audience,
        measures=[
            MeasureInSummary(
                key=whole.key,
                title=whole.title,
                definition=whole.definition,
                unit=whole.unit,
                figures=[figure_view(f) for f in whole.figures],
                months=[figure_view(f) for f in by_month.figures],
            )
            for whole, by_month in results
        ],
    )


# --- CSV --------------------------------------------------------------------------------------


def safe_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula ("=", "+", "-", "@") is quoted with
    a leading apostrophe; numbers stay numbers."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return f"'{value}"
    return value


def _number(value: float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value == 0:
            return "0"
        return f"{value:.4f}".rstrip("0").rstrip(".")  # 12.5, 6, 1250000.25: never 1e+06
    return str(value)


def measure_csv(result: MeasureResult) -> str:
    """One row per figure: the group's fields (e.g. team_id, month), then value, count,
    numerator and suppressed (true/false); a withheld figure's numbers are empty."""
    group_fields = list(dict.fromkeys(name for f in result.figures for name in f.group))
    rows = []
    for figure in result.figures:
        view = figure_view(figure)
        rows.append(
            [
                *(safe_cell(figure.group.get(name, "")) for name in group_fields),
                _number(view.value),
                _number(view.count),
                _number(view.numerator),
                "true" if view.suppressed else "false",
            ]
        )
    return _csv([*group_fields, *CSV_FIELDS], rows)


def _csv(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(list(header))
    writer.writerows(rows)
    return out.getvalue()


# --- the H-CLIC return ------------------------------------------------------------------------


def return_view(extract: Extract, asked: str, errors: int) -> ReturnView:
    return ReturnView(
        council=extract.council,
        quarter=asked,
        label=extract.quarter.label,
        start=extract.quarter.start,
        end=extract.quarter.end,
        made_on=extract.made_on,
        cases=len(extract.cases),
        sections=[
            ReturnSection(
                name=section,
                rows=[
                    ReturnRow(case_id=c.case_id, case_ref=c.case_ref, values=c.rows[section])
                    for c in extract.cases
                    if section in c.rows
                ],
            )
            for section in Section
        ],
        errors=errors,
    )


def errors_view(extract: Extract, asked: str, errors: Iterable[CaseError]) -> ReturnErrors:
    return ReturnErrors(
        council=extract.council,
        quarter=asked,
        label=extract.quarter.label,
        errors=[
            ReturnError(
                case_id=e.case_id,
                section=e.section,
                field=e.field,
                message=e.message,
                fixable_in=e.fixable_in.value,
            )
            for e in errors
        ],
    )
