"""The Outcomes and Statutory return pages' pure parts: the periods and quarters offered, how a
figure reads (a withheld one as "Fewer than 5"), the months' chart and table, the H-CLIC
sections and errors. No I/O."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.web.pages.outcomes import (
    FEWER_THAN_5,
    amount,
    counted,
    extras,
    measure_block,
    month_chart,
    month_rows,
    periods,
    report_month,
    shown,
)
from services.web.pages.returns import (
    Quarter,
    case_errors,
    parse_quarter,
    quarter_of,
    quarters,
    reconnection_cases,
    section_rows,
)

TODAY = date(2026, 12, 1)


def test_the_periods_are_this_quarter_so_far_and_the_last_12_months() -> None:
    offered = periods(TODAY)
    assert (offered["quarter"].start, offered["quarter"].end) == (date(2026, 10, 1), TODAY)
    assert (offered["year"].start, offered["year"].end) == (date(2026, 1, 1), TODAY)
    assert len(offered["year"].months) == 12
    assert offered["quarter"].label == "This quarter (1 October 2026 to 1 December 2026)"
    # The report offered first is the last whole month, when the period holds it.
    assert report_month(offered["year"], TODAY) == "2026-11"
    early = date(2026, 10, 5)  # a quarter's first month: no whole month of it yet
    assert report_month(periods(early)["quarter"], early) == "2026-10"


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (12.5, "percent", "12.5%"),
        (0.0, "days", "0 days"),
        (1.0, "days", "1 day"),
        (-120.5, "pounds", "-£120.50"),
        (3.0, "people", "3 people"),
        (1.0, "cases", "1 case"),
        (None, "percent", "No figure"),
    ],
)
def test_a_figure_reads_with_its_unit(value: float | None, unit: str, text: str) -> None:
    assert amount(value, unit) == text


def test_a_withheld_figure_reads_fewer_than_5_and_shows_nothing_else() -> None:
    withheld: dict[str, Any] = {
        "group": {},
        "value": None,
        "count": None,
        "suppressed": True,
        "extra": {},
    }
    assert shown(withheld, "percent") == FEWER_THAN_5
    assert counted(withheld) == FEWER_THAN_5
    assert extras(withheld, "percent") == []
    rate = {"group": {}, "value": 12.5, "count": 40, "numerator": 5, "suppressed": False}
    assert counted(rate) == "5 of 40"
    assert counted({**rate, "count": 0, "numerator": 0}) == "0"  # nothing to measure
    turnover = {**rate, "extra": {"target": 10.0, "met": False, "window_start": "2025-12-02"}}
    assert extras(turnover, "percent") == [
        ("Target", "Below 10%"),
        ("Target met", "No"),
        ("Window start", "2025-12-02"),
    ]


def test_the_months_table_has_every_month_and_the_chart_only_those_with_a_figure() -> None:
    period = periods(TODAY)["quarter"]
    summary = {"key": "reviews_on_time", "title": "Reviews done on time", "unit": "percent"}
    monthly = {
        "unit": "percent",
        "figures": [
            {"group": {"month": "2026-10"}, "value": 80.0, "count": 10, "numerator": 8},
            {"group": {"month": "2026-11"}, "value": None, "count": None, "suppressed": True},
        ],
    }
    rows = month_rows(monthly, period)
    assert [(r.label, r.text, r.count) for r in rows] == [
        ("Oct 2026", "80%", "8 of 10"),
        ("Nov 2026", FEWER_THAN_5, FEWER_THAN_5),
        ("Dec 2026", "No figure", "0"),
    ]
    chart = month_chart(summary, monthly, period)
    assert chart.key == "chart-reviews_on_time"
    assert [(d.label, d.value) for d in chart.data] == [("Oct 2026", 80.0)]
    assert chart.kind == "line"


def test_a_measure_of_the_outcomes_summary_is_its_headline_and_its_months() -> None:
    """The page reads every measure from one answer (GET /outcomes/summary)."""
    period = periods(TODAY)["quarter"]
    entry = {
        "key": "reviews_on_time",
        "title": "Reviews done on time",
        "definition": "Reviews done by their due day.",
        "unit": "percent",
        "figures": [{"group": {}, "value": 75.0, "count": 20, "numerator": 15}],
        "months": [{"group": {"month": "2026-10"}, "value": 80.0, "count": 10, "numerator": 8}],
    }
    block = measure_block(entry, period)
    assert (block.title, block.definition) == ("Reviews done on time", entry["definition"])
    assert (block.value, block.counted) == ("75%", "15 of 20")
    assert [(r.label, r.text) for r in block.months] == [
        ("Oct 2026", "80%"),
        ("Nov 2026", "No figure"),
        ("Dec 2026", "No figure"),
    ]
    assert block.chart is not None and [d.value for d in block.chart.data] == [80.0]
    bare = measure_block({"key": "new_measure", "figures": [], "months": []}, period)
    assert (bare.title, bare.value, bare.counted) == ("New measure", "No figure", "0")


def test_quarters_are_the_financial_years_as_the_outcomes_api_names_them() -> None:
    """H-CLIC is sent for quarters of the financial year: 2026-Q1 is April to June 2026."""
    assert quarter_of(date(2026, 4, 1)) == Quarter(2026, 1)
    assert quarter_of(date(2026, 12, 1)) == Quarter(2026, 3)
    assert quarter_of(date(2027, 3, 31)) == Quarter(2026, 4)
    assert Quarter(2026, 4).label == "January to March 2027 (2026-27 Q4)"
    assert [q.key for q in quarters(TODAY)] == [
        "2026-Q3",
        "2026-Q2",
        "2026-Q1",
        "2025-Q4",
        "2025-Q3",
    ]
    assert parse_quarter("2026-Q2", TODAY) == Quarter(2026, 2)
    assert parse_quarter("2026-Q4", TODAY) is None  # not begun
    assert parse_quarter("1999-Q1", TODAY) is None  # not offered
    assert parse_quarter("2026-10", TODAY) is None


def test_sections_count_rows_and_errors_and_errors_link_to_the_right_case_page() -> None:
    extract = {
        "sections": [
            {"name": "assistance", "rows": [{"case_id": "c-1"}]},
            {"name": "main", "rows": [{"case_id": "c-1"}, {"case_id": "c-2"}]},
            {"name": "relief", "rows": [{"case_id": "c-2"}]},
        ]
    }
    answer = {
        "errors": [
            {
                "case_id": "c-1",
                "section": "assistance",
                "field": "first_contact_date",
                "message": "Support closed with no contact logged.",
                "fixable_in": "the case's contact log",
            },
            {
                "case_id": "c-2",
                "section": "main",
                "field": "ASSESS_DATE",
                "message": "Not assessed.",
                "fixable_in": "the referral's assessment",
            },
        ]
    }
    errors = case_errors(answer, reconnection_cases(extract))
    assert [e.case_href for e in errors] == ["/cases/c-1", "/reconnection/c-2"]
    rows = section_rows(extract, errors)
    assert [(s.name, s.label, s.rows, s.errors) for s in rows] == [
        ("main", "Main", 2, 1),
        ("relief", "Relief", 1, 0),
        ("assistance", "Assistance", 1, 1),
    ]
