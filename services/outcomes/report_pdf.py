"""The monthly outcomes report for a service manager, as a PDF (fpdf2). Pure: the month's
results in, bytes out.

Page one: each measure's figure for the month and for the twelve months to it. Then each
measure with its definition (a figure is only as good as what it counts), then the charts.
A report is made to be passed on (to commissioners, to funders), so it is drawn from
suppressed results: a withheld figure reads "withheld *", never a number.
"""

from __future__ import annotations

import calendar
import io
from dataclasses import dataclass, field
from datetime import date

from services.outcomes import charts
from services.outcomes.measures.base import Figure, MeasureResult, Unit
from services.outcomes.periods import Period
from shared.pdf_writer import PdfWriter

WITHHELD = "withheld *"
NOTE = (
    "* Fewer than 5 people: the figure is withheld so that no one can be recognised from it. "
    "'-' means there was nothing to measure."
)


@dataclass(frozen=True)
class ReportLine:
    """One measure: its figure for the month and for the twelve months to the month."""

    month: MeasureResult
    year: MeasureResult


@dataclass(frozen=True)
class MonthlyReport:
    organisation: str
    month: Period
    as_of: date  # what was known when the report was made
    lines: list[ReportLine]
    charts: list[MeasureResult] = field(default_factory=list)  # by month, twelve months
    teams: list[str] | None = None  # the teams it covers (None: the whole organisation)


def month_name(month: Period) -> str:
    return f"{calendar.month_name[month.start.month]} {month.start.year}"


def figure_text(result: MeasureResult) -> str:
    """The organisation's (or the teams') one figure, as a reader reads it."""
    figure = _whole(result.figures)
    if figure is None:
        return "-"
    if figure.suppressed:
        return WITHHELD
    text = charts.value_text(figure.value, result.unit)
    if figure.value is None:
        return text
    if figure.numerator is not None:
        return f"{text} ({figure.numerator} of {figure.count})"
    if result.unit in (Unit.PEOPLE, Unit.CASES):
        return text  # the count is the figure
    return f"{text} (n = {figure.count})"


def _whole(figures: list[Figure]) -> Figure | None:
    return next((f for f in figures if not f.group), figures[0] if figures else None)


def render_monthly_report(report: MonthlyReport) -> bytes:
    out = PdfWriter()
    name = month_name(report.month)
    year = f"12 months to {name}"
    out.pdf.set_title(out.text(f"Outcomes report {name}: {report.organisation}"))
    out.pdf.set_author(out.text(report.organisation))
    out.pdf.set_creator("Hearth outcomes")
    out.pdf.add_page()
    out.line("Outcomes report", size=20, bold=True, height=10)
    out.line(name, size=14, bold=True, height=8)
    out.line(f"Organisation: {report.organisation}")
    teams = "the whole organisation" if report.teams is None else ", ".join(report.teams)
    out.line(f"Covers: {teams or 'no teams'}")
    out.line(f"As known on {report.as_of.isoformat()}")
    out.pdf.ln(3)
    out.line(NOTE, size=8, height=4)
    out.pdf.ln(3)
    _summary(out, report, name, year)
    for line in report.lines:
        _measure(out, line, name, year)
    if report.charts:
        out.pdf.add_page()
        out.line("Charts", size=14, bold=True, height=8)
        for result in report.charts:
            image = charts.png(result, dpi=150)
            out.pdf.image(io.BytesIO(image), w=out.pdf.epw)
            out.pdf.ln(4)
    return out.output()


def _summary(out: PdfWriter, report: MonthlyReport, name: str, year: str) -> None:
    out.pdf.set_font(out.family, "", 9)
    with out.pdf.table(
        col_widths=(50, 25, 25),
        text_align=("LEFT", "RIGHT", "RIGHT"),
        line_height=5,
        first_row_as_headings=True,
    ) as table:
        heading = table.row()
        for text in ("Measure", name, year):
            heading.cell(out.text(text))
        for line in report.lines:
            row = table.row()
            row.cell(out.text(line.month.title))
            row.cell(out.text(figure_text(line.month)))
            row.cell(out.text(figure_text(line.year)))


def _measure(out: PdfWriter, line: ReportLine, name: str, year: str) -> None:
    out.pdf.ln(4)
    out.line(line.month.title, size=11, bold=True, height=6)
    out.line(line.month.definition, size=9, height=4.5)
    out.line(f"{name}: {figure_text(line.month)}", size=9, height=4.5)
    out.line(f"{year}: {figure_text(line.year)}", size=9, height=4.5)
