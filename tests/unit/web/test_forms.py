"""The referral form's pure rules: GOV.UK date inputs, the flat form as the API's nested body,
and the API's 422 field paths back onto the form's boxes."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.web import forms

TODAY = date(2026, 12, 1)


def filled(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "given_name": " Alex ",
        "family_name": "Morgan",
        "date_of_birth-day": "2",
        "date_of_birth-month": "3",
        "date_of_birth-year": "1984",
        "source": "housing_officer",
        "consent_to_record": ["yes"],
        "consent_purposes": [],
        "consent_channels": [],
        "support_needs": [],
        "preferred_channels": [],
    }
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("day", "month", "year", "expected"),
    [
        ("2", "3", "1984", ("1984-03-02", None)),
        ("", "", "", (None, "Enter the person's date of birth")),
        ("31", "2", "1990", (None, "Date of birth must be a real date")),
        ("1", "13", "1990", (None, "Date of birth must be a real date")),
        ("1", "1", "90", (None, "Date of birth must be a real date")),
        ("a", "1", "1990", (None, "Date of birth must be a real date")),
        ("1", "", "1990", (None, "Date of birth must include a month")),
        ("", "", "1990", (None, "Date of birth must include a day and month")),
        ("1", "1", "2027", (None, "Date of birth must be in the past")),
    ],
)
def test_a_date_of_birth_is_joined_or_named_in_govuk_words(
    day: str, month: str, year: str, expected: tuple[str | None, str | None]
) -> None:
    values = {"date_of_birth-day": day, "date_of_birth-month": month, "date_of_birth-year": year}
    assert forms.join_date(values, forms.DATE_OF_BIRTH, TODAY) == expected


def test_an_optional_date_left_empty_is_no_error() -> None:
    assert forms.join_date({}, forms.FACING_HOMELESSNESS, TODAY) == (None, None)


def test_a_consent_end_must_be_ahead() -> None:
    values = {"consent_expires_on-day": "1", "consent_expires_on-month": "12"}
    values["consent_expires_on-year"] = "2026"
    assert forms.join_date(values, forms.CONSENT_EXPIRY, TODAY)[1] == (
        "The date consent ends must be in the future"
    )


def test_the_flat_form_becomes_the_referral_apis_body() -> None:
    body, errors = forms.referral_body(
        filled(
            address_line_1="1 High Street",
            address_postcode="DE1 1AA",
            mobile="07700900123",
            preferred_channels=["sms"],
            safe_to_leave_messages="no",
            support_needs=["mental_health"],
            risk_level="high",
            legal_stage="notice_served",
            **{
                "date_facing_homelessness-day": "20",
                "date_facing_homelessness-month": "1",
                "date_facing_homelessness-year": "2027",
            },
            consent_share_with="derby-homes, Leeds-Council",
            consent_purposes=["contact", "referral_status"],
            consent_channels=["sms"],
            tenancy_landlord="Derby Homes",
            tenancy_reference="DH-1",
            referrer_reference="HO-7",
            recourse_to_public_funds="yes",
        ),
        TODAY,
    )
    assert errors == {}
    assert body is not None
    assert body["person"] == {
        "given_name": "Alex",
        "family_name": "Morgan",
        "date_of_birth": "1984-03-02",
    }
    assert body["referrer"] == {"source": "housing_officer", "reference": "HO-7"}
    assert body["contact"]["postal_address"] == ["1 High Street", "DE1 1AA"]
    assert body["contact"]["safe_to_leave_messages"] is False
    assert body["consent"] == {
        "to_record": True,
        "to_share": True,
        "share_with": ["derby-homes", "leeds-council"],
        "channels_allowed": ["sms"],
        "purposes": ["contact", "referral_status"],
        "expires_on": None,
    }
    assert body["urgency"] == {
        "date_facing_homelessness": "2027-01-20",
        "legal_stage": "notice_served",
        "risk_level": "high",
    }
    assert body["tenancy"] == {"landlord_organisation": "Derby Homes", "tenancy_reference": "DH-1"}
    assert body["recourse_to_public_funds"] is True


def test_consent_to_contact_alone_is_not_consent_to_share() -> None:
    body, _ = forms.referral_body(filled(consent_purposes=["contact"]), TODAY)
    assert body is not None and body["consent"]["to_share"] is False


def test_what_is_missing_is_named_in_page_order() -> None:
    body, errors = forms.referral_body(
        filled(
            given_name="",
            consent_to_record=[],
            email="not-an-address",
            tenancy_reference="DH-1",
            **{"date_of_birth-day": "31", "date_of_birth-month": "2"},
        ),
        TODAY,
    )
    assert body is None
    assert errors == {
        "given_name": "Enter the person's given name",
        "date_of_birth": "Date of birth must be a real date",
        "email": "Enter an email address in the correct format, like name@example.com",
        "tenancy_landlord": "Enter the landlord of the tenancy",
        "consent_to_record": "Confirm the person agrees to Hearth recording their details",
    }


def test_the_apis_field_paths_land_on_the_forms_boxes() -> None:
    errors = forms.api_errors(
        {
            "consent.share_with.0": "String should match pattern",
            "person.date_of_birth": "a date of birth must not be after 2026-12-02",
            "person.family_name": "String should have at most 100 characters",
            "contact.email": "Value error, one email address",
            "body": "Value error, person: required for a referral of a person",
        }
    )
    assert errors == {
        "family_name": "Family name must be 100 characters or fewer",
        "date_of_birth": "Date of birth must be on or before 2 December 2026",
        "email": "Enter an email address in the correct format, like name@example.com",
        "consent_share_with": "Organisations: String should match pattern",
        "referral_form": "Person: required for a referral of a person",
    }


def test_a_date_error_links_to_its_first_empty_box() -> None:
    values = {"date_of_birth-day": "3", "date_of_birth-month": "", "date_of_birth-year": "1990"}
    links = forms.summary_links({"given_name": "a", "date_of_birth": "b"}, values)
    assert links == {"given_name": "a", "date_of_birth-month": "b"}
    assert forms.summary_links({"date_of_birth": "b"}, filled()) == {"date_of_birth-day": "b"}


def test_checkbox_groups_come_back_as_lists_and_everything_typed_is_kept() -> None:
    pairs = [("given_name", "Alex"), ("support_needs", "benefits"), ("support_needs", "old_age")]
    values = forms.form_values(pairs, frozenset({"support_needs", "consent_purposes"}))
    assert values == {
        "given_name": "Alex",
        "support_needs": ["benefits", "old_age"],
        "consent_purposes": [],
    }
