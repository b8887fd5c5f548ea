"""The outcomes service's outputs as pure functions (no I/O): the periods the API is asked
about, a measure's CSV, its charts and the monthly PDF report.

Issue 18: "Small numbers are suppressed (fewer than 5 people) where a figure leaves the
organisation": a withheld figure shows no number in a CSV, a chart or the report."""

from __future__ import annotations

from datetime import date

import pytest

from services.outcomes import charts
from services.outcomes.measures.base import Figure, GroupBy, MeasureQuery, MeasureResult, Unit
from services.outcomes.periods import PeriodError, month, period, quarter, twelve_months_to
from services.outcomes.report_pdf import MonthlyReport, ReportLine, render_monthly_report
from services.outcomes.views import figure_view, measure_csv
from tests.helpers import pdf_text

TODAY = date(2026, 11, 16)


def turnover(figures: list[Figure], group_by: GroupBy = GroupBy.MONTH) -> MeasureResult:
    query = MeasureQuery("derby-homes", date(2025, 11, 1), date(2026, 10, 31), TODAY, group_by)
    return MeasureResult(
        "tenancy_turnover",
        "Turnover of supported tenancies (Derby Homes' target: below 10 %)",
        "Of the supported tenancies, the share that ended in the 12 months to the month's end.",
        Unit.PERCENT,
        query,
        figures,
    )


def by_month(values: list[float | None]) -> list[Figure]:
    """Derby's turnover falling from 13 % towards its 10 % target, one figure a month; None:
    withheld (fewer than 5 tenancies ended)."""
    out = []
    for n, value in enumerate(values):
        label = f"{2025 + (10 + n) // 12:04d}-{(10 + n) % 12 + 1:02d}"
        if value is None:
            out.append(Figure({"month": label}, None, 0, None, suppressed=True))
        else:
            out.append(Figure({"month": label}, value, 200, round(value * 2), suppressed=False))
    return out


TWELVE = [13.0, 12.5, 12.5, 12.0, None, 11.5, 11.0, 11.0, 10.5, 10.5, 10.0, 9.5]


# --- periods ----------------------------------------------------------------------------------


def test_a_period_is_by_default_the_twelve_months_to_today() -> None:
    asked = period(None, None, TODAY)
    assert (asked.start, asked.end) == (date(2025, 12, 1), TODAY)
    assert period(date(2026, 10, 1), date(2026, 10, 1), TODAY).start == date(2026, 10, 1)


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (date(2026, 10, 2), date(2026, 10, 1), "from:"),
        (date(2020, 1, 1), date(2025, 1, 2), "to:"),  # five years and a day
        # The calendar's edges: counting months back from 0001-01-01 overflowed (a 500).
        (date(1, 1, 1), date(2026, 10, 1), "from:"),
        (date(2026, 10, 1), date(9999, 12, 31), "to:"),
        (None, date(1, 1, 1), "to:"),
    ],
)
def test_a_period_backwards_or_over_five_years_is_refused_naming_the_field(
    start: date | None, end: date, field: str
) -> None:
    with pytest.raises(PeriodError, match=f"^{field}"):
        period(start, end, TODAY)
    assert period(date(2020, 1, 1), date(2025, 1, 1), TODAY).end == date(2025, 1, 1)


def test_a_month_and_the_twelve_months_to_it() -> None:
    october = month("2026-10", TODAY)
    assert (october.start, october.end) == (date(2026, 10, 1), date(2026, 10, 31))
    year = twelve_months_to(october)
    assert (year.start, year.end) == (date(2025, 11, 1), date(2026, 10, 31))
    assert month("2024-02", TODAY).end == date(2024, 2, 29)
    for bad in ("2026-13", "2026-1", "Oct 2026", "2027-01", "0000-01", "1999-12"):
        with pytest.raises(PeriodError, match=r"^month: "):
            month(bad, TODAY)


def test_quarters_are_of_the_financial_year_as_hclics_are() -> None:
    q3 = quarter("2026-Q3", TODAY)
    assert (q3.start, q3.end) == (date(2026, 10, 1), date(2026, 12, 31))
    q4 = quarter("2025-Q4", TODAY)
    assert (q4.start, q4.end) == (date(2026, 1, 1), date(2026, 3, 31))
    assert quarter("2026-Q1", TODAY).start == date(2026, 4, 1)
    for bad in ("2026-Q5", "2026Q3", "2026-q3", "2026-Q4", "0000-Q1", "9999-Q4"):  # Q4: 2027
        with pytest.raises(PeriodError, match=r"^quarter: "):
            quarter(bad, TODAY)


# --- CSV and the JSON figure --------------------------------------------------------------------


def test_the_csv_names_the_group_fields_and_shows_no_number_of_a_withheld_figure() -> None:
    result = turnover(
        [
            Figure({"team_id": "north"}, 12.5, 40, 5),
            Figure({"team_id": "south"}, None, 0, None, suppressed=True),
            Figure({"team_id": "=HYPERLINK(1)"}, -2.0, 10, 0),
        ],
        GroupBy.TEAM,
    )
    lines = measure_csv(result).split("\r\n")
    assert lines[0] == "team_id,value,count,numerator,suppressed"
    assert lines[1] == "north,12.5,40,5,false"
    assert lines[2] == "south,,,,true"
    assert lines[3] == "'=HYPERLINK(1),-2,10,0,false"  # a spreadsheet never runs it


def test_a_withheld_figure_keeps_no_number_whatever_it_was_left_with() -> None:
    leaked = Figure({"team_id": "south"}, 50.0, 4, 2, suppressed=True, extra={"ended": 2})
    view = figure_view(leaked)
    assert (view.value, view.count, view.numerator, view.extra) == (None, None, None, {})


# --- charts -------------------------------------------------------------------------------------


def test_a_chart_by_month_is_the_same_svg_every_time_and_marks_what_is_withheld() -> None:
    """Derby Homes: "Its primary goal is to curb the annual tenancy turnover rate, which was
    running at 13% four years ago. [...] the ALMO is now working to bring it below 10% in two
    years." The month-by-month line toward that target, one month withheld."""
    result = turnover(by_month(TWELVE))
    first, second = charts.svg(result), charts.svg(result)
    assert first == second
    text = first.decode()
    assert text.startswith("<?xml") and "<svg" in text
    assert "Turnover of supported tenancies" in text
    assert "Nov 2025" in text and "Oct 2026" in text
    assert "fewer than 5 people" in text
    assert "<dc:date>" not in text  # nothing of when it was drawn


def test_a_chart_by_group_is_a_bar_chart_and_a_png_too() -> None:
    result = turnover(
        [Figure({"team_id": "north"}, 12.5, 40, 5), Figure({"team_id": "south"}, 9.0, 50, 9)],
        GroupBy.TEAM,
    )
    svg = charts.svg(result).decode()
    assert "north" in svg and "south" in svg and "fewer than 5" not in svg
    png = charts.png(result)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000


def test_a_chart_of_nothing_says_so() -> None:
    assert "No figures for this period" in charts.svg(turnover([])).decode()


def test_figures_read_as_people_read_them() -> None:
    assert charts.value_text(9.5, Unit.PERCENT) == "9.5 %"
    assert charts.value_text(-1250.0, Unit.POUNDS) == "-£1,250.00"
    assert charts.value_text(7.0, Unit.PEOPLE) == "7 people"
    assert charts.value_text(41.25, Unit.DAYS) == "41.2 days"
    assert charts.value_text(None, Unit.DAYS) == "-"


# --- the monthly report -------------------------------------------------------------------------


def test_the_monthly_report_has_the_month_each_figure_its_definition_and_charts() -> None:
    """A service manager's October: Derby's turnover "below 10%" over the twelve months
    (9.5 %), the month's own figure withheld (fewer than 5 tenancies ended)."""
    october = month("2026-10", TODAY)
    shown = turnover([Figure({}, 9.5, 200, 19)], GroupBy.ORGANISATION)
    withheld = turnover([Figure({}, None, 0, None, suppressed=True)], GroupBy.ORGANISATION)
    report = MonthlyReport(
        organisation="derby-homes",
        month=october,
        as_of=TODAY,
        lines=[ReportLine(withheld, shown)],
        charts=[turnover(by_month(TWELVE))],
    )
    pdf = render_monthly_report(report)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert "October 2026" in text
    assert "12 months to October 2026" in text
    assert "Turnover of supported tenancies" in text
    assert "the share that ended in the 12 months" in text
    assert "9.5 % (19 of 200)" in text
    assert "withheld *" in text and "Fewer than 5 people" in text
    assert "As known on 2026-11-16" in text
