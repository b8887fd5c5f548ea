"""The web app's small pure parts: PKCE, the navigation each role sees, the GOV.UK formats,
and where a sign-in may return to."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, date, datetime

import pytest

from services.web import navigation
from services.web.pages.auth import safe_return_to
from services.web.pkce import challenge, new_state, new_verifier
from services.web.rendering import govuk_date, govuk_datetime, money, words


def test_the_pkce_challenge_is_the_s256_of_the_verifier() -> None:
    verifier = new_verifier()
    assert 43 <= len(verifier) <= 128
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert challenge(verifier) == expected.decode()
    # RFC 7636's own example
    assert (
        challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_one_time_values_never_repeat() -> None:
    assert len({new_state() for _ in range(1000)}) == 1000
    assert len({new_verifier() for _ in range(1000)}) == 1000


@pytest.mark.parametrize(
    ("roles", "shown", "hidden"),
    [
        ({"caseworker"}, {"My caseload", "Referrals"}, {"Waiting list", "Settings", "Arrears"}),
        ({"team-leader"}, {"Waiting list", "Team", "Dashboard"}, {"Settings", "Arrears"}),
        ({"income-officer"}, {"Arrears"}, {"My caseload", "Waiting list", "Referrals"}),
        ({"organisation-admin"}, {"Settings", "Team"}, {"My caseload", "Referrals"}),
        ({"auditor"}, {"Today"}, {"My caseload", "Settings", "Arrears"}),
    ],
)
def test_each_role_sees_only_the_pages_its_permissions_open(
    roles: set[str], shown: set[str], hidden: set[str]
) -> None:
    labels = {item.label for item in navigation.items_for(frozenset(roles))}
    assert shown <= labels
    assert not hidden & labels
    assert "Today" in labels


def test_the_current_item_is_the_longest_match() -> None:
    items = navigation.items_for(frozenset({"service-manager"}))
    assert navigation.current("/", items).label == "Today"  # type: ignore[union-attr]
    assert navigation.current("/referrals/r-1", items).label == "Referrals"  # type: ignore[union-attr]
    assert navigation.current("/nowhere", items) is None


def test_dates_money_and_codes_read_as_the_govuk_style_guide_writes_them() -> None:
    assert govuk_date("2026-12-01") == "1 December 2026"
    assert govuk_date(date(2027, 3, 9)) == "9 March 2027"
    assert govuk_datetime(datetime(2026, 12, 1, 14, 5, tzinfo=UTC)) == "1 December 2026, 2:05pm"
    assert govuk_datetime("2026-12-01T00:30:00Z") == "1 December 2026, 12:30am"
    assert govuk_date(None) == "" and govuk_date("not a date") == "not a date"
    assert money(1234.5) == "£1,234.50" and money(-20) == "-£20.00" and money(None) == ""
    assert words("tenancy-at-risk") == "Tenancy at risk" and words("move_on") == "Move on"


@pytest.mark.parametrize(
    ("asked", "returned"),
    [
        ("/cases/c-1", "/cases/c-1"),
        ("/referrals?page=2", "/referrals?page=2"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_a_sign_in_returns_only_to_a_page_of_this_site(asked: str | None, returned: str) -> None:
    assert safe_return_to(asked) == returned
