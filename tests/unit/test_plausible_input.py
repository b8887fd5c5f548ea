"""Input that means something (issue 16): the types in shared/validation.py, pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from services.referral.arrears.alert import ArrearsAlert
from shared.events.referral_events import Referrer
from shared.validation import (
    NO_CONTEXT_MARGIN,
    TODAY_CONTEXT,
    ArrearsBalance,
    BirthDate,
    Email,
    LastPaymentDate,
    LegalDate,
    ReportedOn,
    Text,
    printable,
)

TODAY = date(2026, 1, 5)
CONTEXT = {TODAY_CONTEXT: TODAY}


def _check(kind: Any, value: Any, context: dict[str, Any] | None = CONTEXT) -> Any:
    return TypeAdapter(kind).validate_python(value, context=context)


def _refusal(kind: Any, value: Any, context: dict[str, Any] | None = CONTEXT) -> str:
    with pytest.raises(ValidationError) as caught:
        _check(kind, value, context)
    return str(caught.value.errors()[0]["msg"])


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (date(1, 1, 1), False),  # "facing homelessness in -739949 days"
        (date(2024, 1, 1), False),  # just over two years before
        (date(2024, 1, 10), True),
        (TODAY, True),
        (date(2030, 12, 31), True),
        (date(2031, 2, 1), False),  # over five years ahead
        (date(9999, 12, 31), False),
    ],
)
def test_a_legal_date_lies_within_two_years_past_and_five_ahead(value: date, ok: bool) -> None:
    if ok:
        assert _check(LegalDate, value) == value
    else:
        assert "a legal or eviction date must not be" in _refusal(LegalDate, value)


def test_reported_on_is_never_in_the_future_beyond_a_day_of_skew() -> None:
    assert _check(ReportedOn, TODAY + timedelta(days=1)) == TODAY + timedelta(days=1)
    assert "must not be after 2026-01-06" in _refusal(ReportedOn, date(9999, 12, 31))
    assert "must not be before" in _refusal(ReportedOn, date(2023, 12, 1))


def test_a_last_payment_is_within_ten_years_and_not_in_the_future() -> None:
    assert _check(LastPaymentDate, date(2017, 1, 1)) == date(2017, 1, 1)
    assert "a payment date must not be before" in _refusal(LastPaymentDate, date(1, 1, 1))
    assert "must not be after" in _refusal(LastPaymentDate, date(2026, 2, 1))


def test_a_date_of_birth_is_not_in_the_future_nor_before_1900() -> None:
    today = datetime.now(UTC).date()
    assert _check(BirthDate, date(1984, 3, 2)) == date(1984, 3, 2)
    assert "a date of birth must not be after" in _refusal(BirthDate, date(2999, 1, 1))
    assert "must not be before 1900-01-01" in _refusal(BirthDate, date(1899, 12, 31))
    # Births are real-world facts: the real date, whatever the business clock says.
    assert "must not be after" in _refusal(BirthDate, today + timedelta(days=30))


def test_without_the_services_date_the_windows_widen_by_the_margin() -> None:
    """FastAPI validates a body without context: the real date, with six months either way,
    so a demo clock a few months ahead never refuses a genuine date."""
    today = datetime.now(UTC).date()
    ahead = today + timedelta(days=90)  # a business clock twelve weeks ahead says "today"
    assert _check(ReportedOn, ahead, context=None) == ahead
    assert _check(ReportedOn, today + NO_CONTEXT_MARGIN, context=None)
    assert "must not be after" in _refusal(ReportedOn, date(9999, 12, 31), context=None)
    assert "must not be before" in _refusal(LegalDate, date(1, 1, 1), context=None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "must be a number, not true or false"),
        (False, "must be a number, not true or false"),
        (-10_000_000, "must be between -£100,000 and £1,000,000"),
        (1_000_001, "must be between -£100,000 and £1,000,000"),
        (float("nan"), "must be a finite number"),
        (float("inf"), "must be a finite number"),
    ],
)
def test_a_balance_is_a_real_number_within_bounds(value: Any, message: str) -> None:
    assert _refusal(ArrearsBalance, value) == message


def test_a_balance_may_be_a_credit_or_a_string_of_digits() -> None:
    assert _check(ArrearsBalance, -250.5) == -250.5
    assert _check(ArrearsBalance, "1234.50") == 1234.5


def test_text_with_a_lone_surrogate_is_refused_and_shown_escaped() -> None:
    assert "valid Unicode" in _refusal(Text, "T-\ud800")
    assert _check(Text, "Zoë 🏠") == "Zoë 🏠"
    assert printable("T-\ud800") == "T-\\ud800"


@pytest.mark.parametrize(
    "value",
    [
        "a@x.test, b@y.test",
        "a@x.test;b@y.test",
        "a@x.test b@y.test",
        "A <a@x.test>",
        "a@b@x.test",
        "a@localhost",
        "a@x.",
        "@x.test",
        "a@x..test",
    ],
)
def test_an_email_field_holds_exactly_one_address(value: str) -> None:
    assert "email address" in _refusal(Email, value)


def test_one_address_is_accepted() -> None:
    assert _check(Email, " referrals@derby-council.demo ") == "referrals@derby-council.demo"


def test_errors_name_the_field_in_the_models() -> None:
    with pytest.raises(ValidationError) as caught:
        Referrer.model_validate(
            {"organisation": "derby-council", "source": "probation", "email": "a@x.test, b@y"}
        )
    assert caught.value.errors()[0]["loc"] == ("email",)
    with pytest.raises(ValidationError) as caught:
        ArrearsAlert.model_validate(
            {"tenancy_reference": "T-1", "arrears_balance": True}, context=CONTEXT
        )
    assert caught.value.errors()[0]["loc"] == ("arrears_balance",)


def test_an_alert_from_year_one_to_year_9999_names_both_dates() -> None:
    """ "no payment for 521722 weeks": reported 9999-12-31 with a last payment in year 1."""
    with pytest.raises(ValidationError) as caught:
        ArrearsAlert.model_validate(
            {
                "tenancy_reference": "T-1",
                "arrears_balance": 900,
                "reported_on": "9999-12-31",
                "last_payment_date": "0001-01-01",
            },
            context=CONTEXT,
        )
    assert {e["loc"][0] for e in caught.value.errors()} == {"reported_on", "last_payment_date"}


class _Household(BaseModel):
    born: BirthDate


def test_a_household_members_birth_in_2999_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        _Household.model_validate({"born": "2999-01-01"})
    assert caught.value.errors()[0]["loc"] == ("born",)
