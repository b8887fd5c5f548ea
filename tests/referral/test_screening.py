"""Screening rules, table-driven from the seeds' own criteria (Safe Connections Tool 3, the
staged floating support model, Derby Homes)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.referral.screening import (
    CHILDRENS_SERVICES,
    DOMESTIC_ABUSE_SERVICE,
    NRPF_ADVICE,
    age_on,
    check_reconnection,
    screen,
)
from shared.codes import Route
from shared.events.referral_intake import ReferralSubmission
from tests.referral.factories import reconnection_json, submission

TODAY = date(2026, 1, 5)


def rough(**fields: Any) -> dict[str, Any]:
    return {"rough_sleeping": fields}


CASES: list[tuple[str, dict[str, Any], Route, str | None, str]] = [
    # (case, overrides of a reconnection-eligible referral, route, specialist, a reason has)
    ("all three criteria", {}, Route.RECONNECTION, None, "all three Safe Connections"),
    (
        "2a living on the street: many contacts over 3+ weeks",
        rough(contacts=5, period_start="2025-12-01", period_end="2025-12-22"),
        Route.RECONNECTION,
        None,
        "living on the street, 5 contacts over 21 days",
    ),
    (
        "2a period still running counts up to today",
        rough(contacts=6, period_start="2025-12-10", currently_rough_sleeping=True),
        Route.RECONNECTION,
        None,
        "over 26 days",
    ),
    (
        "many contacts but under 3 weeks",
        rough(contacts=12, period_start="2025-12-20", period_end="2026-01-02"),
        Route.SUPPORT,
        None,
        "missing rough-sleeping history",
    ),
    (
        "few contacts over a long period",
        rough(contacts=2, period_start="2025-10-01", period_end="2026-01-02"),
        Route.SUPPORT,
        None,
        "missing rough-sleeping history",
    ),
    (
        "2b intermittent rough sleeper",
        rough(contacts=1, intermittent=True),
        Route.RECONNECTION,
        None,
        "intermittent",
    ),
    (
        "2c two bedded-down contacts",
        rough(bedded_down_contacts=2),
        Route.RECONNECTION,
        None,
        "2 bedded-down contacts",
    ),
    ("one bedded-down contact", rough(bedded_down_contacts=1), Route.SUPPORT, None, "missing"),
    (
        "local connection only in the referring area (case and dashes ignored)",
        {"local_connections": [{"area": "hackney"}], "referring_area": "Hackney"},
        Route.SUPPORT,
        None,
        "missing local connection outside Hackney",
    ),
    (
        "one connection elsewhere among several",
        {"local_connections": [{"area": "Hackney"}, {"area": "Stoke-on-Trent"}]},
        Route.RECONNECTION,
        None,
        "local connection outside Hackney: Stoke-on-Trent",
    ),
    (
        "referring area unknown",
        {"referring_area": None},
        Route.SUPPORT,
        None,
        "referring_area not given",
    ),
    (
        "not multiple needs",
        {"support_needs": ["alcohol_dependency"]},
        Route.SUPPORT,
        None,
        "missing multiple needs",
    ),
    (
        "domestic abuse goes to the specialist service before reconnection",
        {"support_needs": ["domestic_abuse", "mental_health"]},
        Route.SPECIALIST,
        DOMESTIC_ABUSE_SERVICE,
        "domestic_abuse",
    ),
    (
        "no recourse to public funds",
        {"recourse_to_public_funds": False},
        Route.DECLINED,
        NRPF_ADVICE,
        "no recourse to public funds",
    ),
    (
        "recourse to public funds not known is not a bar",
        {"recourse_to_public_funds": None},
        Route.RECONNECTION,
        None,
        "all three",
    ),
    (
        "no consent to share",
        {"consent": {"to_record": True, "to_share": False}},
        Route.DECLINED,
        None,
        "no consent to share",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "route", "specialist", "reason"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_reconnection_and_its_boundaries(
    overrides: dict[str, Any], route: Route, specialist: str | None, reason: str
) -> None:
    result = screen(ReferralSubmission.model_validate(reconnection_json(**overrides)), TODAY)
    assert result.route == route
    assert result.specialist_service == specialist
    assert any(reason in r for r in result.reasons), result.reasons


SUPPORT_CASES: list[tuple[str, dict[str, Any], Route, str | None, str]] = [
    (
        "housing officer referral with needs: floating support",
        {"source": "housing_officer", "support_needs": ["budgeting_debt", "benefits"]},
        Route.SUPPORT,
        None,
        "accepted for tenancy / floating support: budgeting_debt, benefits",
    ),
    (
        "urgency is told in the reasons",
        {"support_needs": ["budgeting_debt", "benefits"]},
        Route.SUPPORT,
        None,
        "facing homelessness in 46 days",
    ),
    (
        "mental health as the only need: specialist floating support",
        {"support_needs": ["mental_health"]},
        Route.SPECIALIST,
        "mental_health_floating_support",
        "single need mental_health",
    ),
    (
        "learning disability only",
        {"support_needs": ["learning_disability"]},
        Route.SPECIALIST,
        "learning_disability_floating_support",
        "learning disability floating support",
    ),
    (
        "offending only: ex-offender housing support (Derby's Action Housing)",
        {"source": "probation", "support_needs": ["offending"]},
        Route.SPECIALIST,
        "ex_offender_housing_support",
        "offending",
    ),
    (
        "offending among several needs stays with generic floating support",
        {"source": "probation", "support_needs": ["offending", "drug_dependency"]},
        Route.SUPPORT,
        None,
        "offending, drug_dependency",
    ),
    (
        "16-17 year old by date of birth: children's services",
        {
            "person": {"given_name": "Jo", "family_name": "Lee", "date_of_birth": "2009-01-06"},
            "source": "childrens_services",
        },
        Route.SPECIALIST,
        CHILDRENS_SERVICES,
        "aged 16-17",
    ),
    (
        "16-17 by support need, even without consent to share",
        {
            "support_needs": ["young_person_16_17"],
            "consent": {"to_record": True, "to_share": False},
        },
        Route.SPECIALIST,
        CHILDRENS_SERVICES,
        "children's services",
    ),
    (
        "care leaver turning 18 is accepted (early work with care leavers)",
        {
            "person": {"given_name": "Jo", "family_name": "Lee", "date_of_birth": "2008-01-05"},
            "source": "childrens_services",
            "support_needs": ["care_leaver_18_20", "budgeting_debt"],
        },
        Route.SUPPORT,
        None,
        "care_leaver_18_20",
    ),
    (
        "no support need at all: out of scope",
        {"support_needs": []},
        Route.DECLINED,
        None,
        "no housing-related support need",
    ),
    (
        "no support need but facing homelessness: housing options",
        {"support_needs": []},
        Route.DECLINED,
        None,
        "housing options",
    ),
    (
        "sexual abuse: specialist",
        {"support_needs": ["sexual_abuse"]},
        Route.SPECIALIST,
        DOMESTIC_ABUSE_SERVICE,
        "sexual_abuse",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "route", "specialist", "reason"),
    [c[1:] for c in SUPPORT_CASES],
    ids=[c[0] for c in SUPPORT_CASES],
)
def test_support_specialist_and_declined(
    overrides: dict[str, Any], route: Route, specialist: str | None, reason: str
) -> None:
    result = screen(submission(**overrides), TODAY)
    assert result.route == route
    assert result.specialist_service == specialist
    assert any(reason in r for r in result.reasons), result.reasons


def test_automatic_prevention_referral_goes_to_support() -> None:
    automatic = ReferralSubmission.model_validate(
        {
            "source": "arrears_alert",
            "automatic": True,
            "referrer": {"organisation": "derby-homes", "source": "arrears_alert"},
            "tenancy": {"landlord_organisation": "derby-homes", "tenancy_reference": "T-1"},
            "support_needs": ["budgeting_debt"],
            "urgency": {"legal_stage": "court_date_set", "risk_level": "high"},
        }
    )
    result = screen(automatic, TODAY)
    assert result.route == Route.SUPPORT
    assert any("arrears alert" in r for r in result.reasons)
    assert "legal stage: court_date_set" in result.reasons


def test_every_outcome_has_reasons() -> None:
    for overrides in ({}, {"support_needs": []}, {"recourse_to_public_funds": False}):
        assert screen(submission(**overrides), TODAY).reasons


def test_reconnection_check_lists_what_is_missing() -> None:
    check = check_reconnection(submission(), TODAY)  # Derby referral, no rough sleeping
    assert not check.eligible
    assert check.multiple_needs and not check.rough_sleeping_history
    assert "rough-sleeping history" in check.missing


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(2008, 1, 5), date(2026, 1, 5), 18),
        (date(2008, 1, 6), date(2026, 1, 5), 17),
        (date(2008, 2, 29), date(2026, 2, 28), 17),
        (date(2008, 2, 29), date(2026, 3, 1), 18),
    ],
)
def test_age_on(born: date, on: date, age: int) -> None:
    assert age_on(born, on) == age
