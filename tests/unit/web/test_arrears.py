"""The income officer's pages' own rules: what an upload's rows and a tenancy's alerts mean in
words, the order rows are shown in, and the risk-rules form. Pure, no I/O."""

from __future__ import annotations

from services.web.backend import ApiError
from services.web.pages.arrears import (
    api_rule_errors,
    percent_read,
    row_outcome,
    rows_for,
    rules_form_values,
    rules_from_form,
    split_reason,
    tenancy_outcomes,
)

DEFAULTS = {
    "signal_from": "medium",
    "refer_from": "medium",
    "weeks_medium": 4.0,
    "weeks_high": 8.0,
    "weeks_critical": None,
    "balance_medium": 500.0,
    "balance_high": 1500.0,
    "no_payment_weeks": 4.0,
    "worsening_trend_raises": True,
    "trend_cap": "high",
    "notice_served_level": "high",
    "court_date_level": "high",
    "possession_order_level": "critical",
    "eviction_date_level": "critical",
    "asb_level": "medium",
    "neighbour_level": "medium",
    "prevention_organisation": None,
}


def test_a_rejection_names_its_column_and_says_what_is_wrong() -> None:
    assert split_reason("balance: Input should be a valid number") == (
        "balance",
        "Input should be a valid number",
    )
    assert split_reason("landlord: not your organisation") == ("landlord", "Not your organisation")
    assert split_reason("something went wrong: badly") == ("", "something went wrong: badly")
    assert split_reason(None) == ("", "")


def test_rejected_rows_come_first_then_line_order_and_a_filter_keeps_one_status() -> None:
    rows = [
        {"line": 2, "status": "accepted", "signalled": True, "prevention_case_id": "prev-1"},
        {"line": 3, "status": "unchanged"},
        {"line": 4, "status": "rejected", "field": "balance", "reason": "balance: not a number"},
        {"line": 5, "status": "accepted", "signalled": True, "case_id": "case-9"},
    ]
    shown = rows_for(rows, "all")
    assert [r.line for r in shown] == [4, 2, 3, 5]
    assert (shown[0].field, shown[0].message) == ("balance", "Not a number")
    assert [r.line for r in rows_for(rows, "accepted")] == [2, 5]
    assert [r.line for r in rows_for(rows, "nonsense")] == [4, 2, 3, 5]


def test_each_rows_outcome_in_words() -> None:
    assert row_outcome({"status": "accepted", "prevention_case_id": "p"}) == (
        "Prevention referral raised"
    )
    assert row_outcome({"status": "accepted", "signalled": True, "case_id": "c"}) == (
        "Open case told of the risk (escalated)"
    )
    assert row_outcome({"status": "accepted"}) == "Arrears cleared: risk ended"
    assert row_outcome({"status": "unchanged"}) == "Recorded: no new risk"
    assert row_outcome({"status": "duplicate"}) == "Already received: nothing changed"
    assert row_outcome({"status": "rejected"}) == "Not recorded"


def test_progress_is_the_share_of_rows_read() -> None:
    assert percent_read({"status": "processing", "total_rows": 4000, "rows_read": 2000}) == 50
    assert percent_read({"status": "queued", "total_rows": 4000, "rows_read": 0}) == 0
    assert percent_read({"status": "completed", "total_rows": 0, "rows_read": 0}) == 100


def test_what_a_tenancys_alerts_caused() -> None:
    referral = {"case_id": "prev-1", "status": "pending", "prevention_referral": True}
    assert tenancy_outcomes({"signalled_level": "high", "cases": [referral]}) == [
        "Prevention referral raised"
    ]
    allocated = {**referral, "status": "open"}
    assert tenancy_outcomes({"signalled_level": "high", "cases": [allocated]}) == [
        "Prevention referral raised: case allocated"
    ]
    own_case = {"case_id": "case-7", "status": "open", "prevention_referral": False}
    assert tenancy_outcomes({"signalled_level": "critical", "cases": [own_case]}) == [
        "Open case escalated"
    ]
    closed = {**own_case, "status": "closed"}
    assert tenancy_outcomes({"signalled_level": None, "cases": [closed]}) == ["Case closed"]
    low = {"signalled_level": None, "cases": [], "last_alert": {"risk_level": "low"}}
    assert tenancy_outcomes(low) == ["Recorded: below the level that raises a signal"]
    cleared = {"signalled_level": None, "cases": [], "last_alert": {"risk_level": None}}
    assert tenancy_outcomes(cleared) == ["Arrears cleared"]


def test_the_rules_form_round_trips_the_defaults() -> None:
    values = rules_form_values(DEFAULTS)
    assert values["weeks_medium"] == "4" and values["weeks_critical"] == ""
    assert values["worsening_trend_raises"] == "yes"
    body, errors = rules_from_form(values)
    assert errors == {}
    assert body == DEFAULTS


def test_the_rules_form_names_each_field_it_cannot_use() -> None:
    values = rules_form_values(DEFAULTS)
    values.update(weeks_high="", balance_high="lots", signal_from="extreme")
    _, errors = rules_from_form(values)
    assert errors == {
        "signal_from": "Select a risk level",
        "weeks_high": "Enter weeks in arrears for high risk",
        "balance_high": "Balance for high risk must be a number greater than 0",
    }
    assert list(errors) == ["signal_from", "weeks_high", "balance_high"]  # the form's order
    values.update(weeks_high="8", balance_high="£1,500", signal_from="high")
    assert rules_from_form(values)[0]["balance_high"] == 1500.0


def test_a_rule_between_fields_refused_by_the_api_is_shown_against_its_field() -> None:
    detail = {
        "detail": "body: Value error, weeks_high: must not be below weeks_medium",
        "errors": [
            {"field": "body", "message": "Value error, weeks_high: must not be below weeks_medium"}
        ],
    }
    assert api_rule_errors(ApiError("referral", 422, detail)) == {
        "weeks_high": "Must not be below weeks in arrears for medium risk"
    }
