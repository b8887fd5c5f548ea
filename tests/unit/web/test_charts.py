"""Charts drawn on the server, and the dashboard's figures: pure, no I/O."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from services.web.charts import (
    LABEL_WIDTH,
    LINE_HEIGHT,
    Chart,
    Datum,
    bar_geometry,
    describe,
    figure,
    line_geometry,
    nice_maximum,
)
from services.web.pages.dashboard import (
    closure_chart,
    demand_chart,
    review_chart,
    wait_chart,
)
from services.web.pages.home import awaiting, mine
from services.web.pages.settings_pages import (
    agreement_errors,
    change_options,
    channel_errors,
    template_errors,
)


def test_the_axis_top_rounds_up_to_one_two_or_five_times_a_power_of_ten() -> None:
    assert [nice_maximum(v) for v in (0, 0.3, 1, 3, 7, 12, 50, 51)] == [
        1.0,
        0.5,
        1.0,
        5.0,
        10.0,
        20.0,
        50.0,
        100.0,
    ]


def test_figures_are_written_as_people_write_them() -> None:
    assert figure(50.0) == "50" and figure(1234) == "1,234" and figure(2.25) == "2.2"


def test_bars_are_scaled_to_the_axis_top_and_never_below_zero() -> None:
    bars = bar_geometry((Datum("Contracted", 50), Datum("Free", 25), Datum("Short", -3)))
    assert [b.x for b in bars] == [LABEL_WIDTH] * 3
    assert bars[0].width == 2 * bars[1].width
    assert bars[2].width == 0
    assert bars[0].y < bars[1].y < bars[2].y


def test_line_points_run_left_to_right_and_higher_figures_sit_higher() -> None:
    points, top = line_geometry((Datum("a", 1), Datum("b", 4), Datum("c", 0)))
    assert top == 5
    assert points[0].x < points[1].x < points[2].x
    assert points[1].y < points[0].y < points[2].y <= LINE_HEIGHT


def test_a_chart_is_an_image_named_by_its_title_and_description_with_no_inline_style() -> None:
    chart = Chart("chart-x", "Closures <by> reason", "Why cases closed.", (Datum("Moved on", 2),))
    svg = str(chart.svg())
    assert 'role="img"' in svg
    assert 'aria-labelledby="chart-x-title chart-x-desc"' in svg
    assert '<title id="chart-x-title">Closures &lt;by&gt; reason</title>' in svg
    assert "Moved on: 2" in svg  # the description reads every figure out
    assert "style=" not in svg and "<script" not in svg
    assert re.search(r"<rect [^>]*class=\"hearth-chart__bar\"", svg)
    assert chart.rows() == [("Moved on", "2")]


def test_an_empty_chart_says_there_are_no_figures() -> None:
    chart = Chart("chart-e", "Nothing", "Nothing yet.", ())
    assert "No figures yet" in str(chart.svg())
    assert describe(chart).endswith("There are no figures yet.")
    assert "No figures yet" in str(Chart("l", "t", "d", (), kind="line").svg())


def test_waiting_cases_fall_into_bands_and_reviews_on_the_list_are_not_counted() -> None:
    entries = [
        {"kind": "waiting", "waiting_days": 0.2},
        {"kind": "waiting", "waiting_days": 7.9},
        {"kind": "waiting", "waiting_days": 100},
        {"kind": "review", "waiting_days": None},
    ]
    rows = dict(wait_chart({"entries": entries}).rows())
    assert rows == {
        "Under 1 day": "1",
        "1 to 7 days": "1",
        "8 to 28 days": "0",
        "29 to 90 days": "0",
        "Over 90 days": "1",
    }


def test_reviews_are_overdue_due_this_week_or_later() -> None:
    today = date(2026, 12, 1)
    reviews = [
        {"due_on": "2026-11-20", "overdue": True},
        {"due_on": "2026-12-07", "overdue": False},
        {"due_on": "2026-12-08", "overdue": False},
    ]
    assert [v for _, v in review_chart(reviews, today).rows()] == ["1", "1", "1"]


def test_closures_count_by_reason_within_the_window_most_common_first() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    referrals = [
        {"closed_at": "2026-11-30T10:00:00Z", "closure_reason": "moved_on"},
        {"closed_at": "2026-11-29T10:00:00+00:00", "closure_reason": "plan_achieved"},
        {"closed_at": "2026-11-28T10:00:00+00:00", "closure_reason": "plan_achieved"},
        {"closed_at": "2026-01-01T10:00:00+00:00", "closure_reason": "evicted"},  # too old
        {"closed_at": None, "closure_reason": None},
    ]
    assert closure_chart(referrals, now).rows() == [("Plan achieved", "2"), ("Moved on", "1")]


def test_demand_counts_referrals_by_the_week_they_arrived() -> None:
    today = date(2026, 12, 1)  # a Tuesday: this week began on Monday 30 November
    referrals = [
        {"received_at": "2026-11-30T08:00:00+00:00"},
        {"received_at": "2026-12-01T08:00:00+00:00"},
        {"received_at": "2026-11-29T23:00:00+00:00"},  # the Sunday before
        {"received_at": "2025-01-01T00:00:00+00:00"},  # long ago: not drawn
    ]
    chart = demand_chart(referrals, today, weeks=3)
    assert chart.kind == "line"
    assert chart.rows() == [("16 Nov", "0"), ("23 Nov", "1"), ("30 Nov", "2")]


def test_today_shows_a_caseworker_the_cases_they_lead_or_hold_in_crisis() -> None:
    cases = [
        {"case_id": "a", "lead_worker_id": "jo", "crisis_worker_id": None},
        {"case_id": "b", "lead_worker_id": "sam", "crisis_worker_id": "jo"},
        {"case_id": "c", "lead_worker_id": "sam", "crisis_worker_id": None},
    ]
    assert [c["case_id"] for c in mine(cases, "jo")] == ["a", "b"]
    proposals = [{"awaiting": "derby-council"}, {"awaiting": "leeds-council"}]
    assert awaiting(proposals, "derby-council") == [{"awaiting": "derby-council"}]


def test_settings_forms_name_each_wrong_field_in_govuk_words() -> None:
    assert template_errors({"subject": " ", "body": "", "notify_template_id": ""}) == {
        "subject": "Enter a subject",
        "body": "Enter the message",
    }
    values = {
        "display_name": "",
        "notice_email": "notices at derby",
        "housing_officer_email": "ok@derby.test",
        "local_support": "x" * 4001,
        "crisis_support": "",
    }
    errors = channel_errors(values)
    assert set(errors) == {"notice_email", "local_support"}
    assert "like name@example.com" in errors["notice_email"]


def test_an_agreement_proposal_needs_a_party_purpose_data_and_a_real_start() -> None:
    values = {
        "counterparty": "leeds council",
        "purpose": "",
        "categories": [],
        "note": "",
        "starts-day": "31",
        "starts-month": "2",
        "starts-year": "2027",
        "ends-day": "",
        "ends-month": "",
        "ends-year": "",
    }
    errors = agreement_errors(values, {"tenancy-data"}, {"arrears"})
    assert set(errors) == {"counterparty", "purpose", "categories", "starts"}
    good = values | {
        "counterparty": "leeds-council",
        "purpose": "tenancy-data",
        "categories": ["arrears"],
        "starts-day": "1",
        "ends-day": "1",
        "ends-month": "1",
        "ends-year": "2027",
    }
    assert agreement_errors(good, {"tenancy-data"}, {"arrears"}) == {
        "ends": "The end date must be after the start date"
    }


def test_only_the_organisation_asked_may_accept_and_either_may_end() -> None:
    proposal = {"status": "proposed", "awaiting": "leeds-council"}
    assert [c for c, _ in change_options(proposal, "leeds-council", True)] == [
        "accept",
        "decline",
    ]
    assert [c for c, _ in change_options(proposal, "derby-council", True)] == ["end"]
    assert change_options(proposal, "leeds-council", False) == []
    assert change_options({"status": "declined"}, "leeds-council", True) == []
