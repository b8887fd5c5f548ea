"""Risk rules, table-driven from the seeds' own criteria (safety net: crisis intervention when
the tenancy breaks down; advocacy on arrears and on neighbours or behaviour; early intervention:
landlords contact the council first instead of sending letters)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from services.referral.arrears.alert import ArrearsAlert
from services.referral.arrears.risk_rules import DEFAULT_RULES, RiskRules, assess
from shared.codes import LegalStage, RiskLevel

TODAY = date(2026, 1, 5)


def alert(**fields: Any) -> ArrearsAlert:
    return ArrearsAlert(**{"tenancy_reference": "T-1", "arrears_balance": 100.0, **fields})


CASES = [
    # (name, alert fields, expected level, a reason that must be there)
    ("clear account, nothing else", {"arrears_balance": 0}, None, "arrears: cleared"),
    ("in credit", {"arrears_balance": -25.5}, None, "arrears: cleared"),
    (
        "small arrears: recorded early",
        {"arrears_balance": 80, "weekly_rent": 100},
        RiskLevel.LOW,
        "arrears:",
    ),
    ("4 weeks in arrears", {"weeks_in_arrears": 4}, RiskLevel.MEDIUM, "weeks_in_arrears: 4 weeks"),
    (
        "4 weeks' rent owed",
        {"arrears_balance": 400, "weekly_rent": 100},
        RiskLevel.MEDIUM,
        "balance_vs_rent",
    ),
    (
        "8 weeks: the ground 8 threshold",
        {"weeks_in_arrears": 8},
        RiskLevel.HIGH,
        "weeks_in_arrears: 8 weeks",
    ),
    ("£500 owed", {"arrears_balance": 500}, RiskLevel.MEDIUM, "balance: £500.00"),
    (
        "£1,500 owed (Derby's turnaround)",
        {"arrears_balance": 1500},
        RiskLevel.HIGH,
        "balance: £1,500.00",
    ),
    (
        "no payment for 5 weeks",
        {"last_payment_date": date(2025, 12, 1)},
        RiskLevel.MEDIUM,
        "last_payment_date: no payment for 5 weeks",
    ),
    ("paid last week", {"last_payment_date": date(2025, 12, 29)}, RiskLevel.LOW, "arrears:"),
    (
        "worsening trend raises low to medium",
        {"trend": "worsening"},
        RiskLevel.MEDIUM,
        "trend: arrears worsening",
    ),
    (
        "'increasing' is worsening",
        {"trend": "Increasing", "weeks_in_arrears": 4},
        RiskLevel.HIGH,
        "trend:",
    ),
    (
        "trend alone never reaches critical",
        {"trend": "worsening", "weeks_in_arrears": 9},
        RiskLevel.HIGH,
        "trend:",
    ),
    (
        "improving trend changes nothing",
        {"trend": "improving", "weeks_in_arrears": 4},
        RiskLevel.MEDIUM,
        "weeks",
    ),
    (
        "notice served",
        {"legal_stage": "notice_served", "notice_served_date": date(2025, 12, 20)},
        RiskLevel.HIGH,
        "legal_stage: notice served 2025-12-20",
    ),
    (
        "court date",
        {"legal_stage": "court_date_set", "court_date": date(2026, 2, 1)},
        RiskLevel.HIGH,
        "legal_stage: court date 2026-02-01",
    ),
    (
        "possession order",
        {"legal_stage": "possession_order"},
        RiskLevel.CRITICAL,
        "legal_stage: possession order",
    ),
    (
        "eviction date",
        {"eviction_date": date(2026, 2, 14)},
        RiskLevel.CRITICAL,
        "legal_stage: eviction date 2026-02-14",
    ),
    (
        "a date implies the stage",
        {"possession_order_date": date(2026, 1, 2)},
        RiskLevel.CRITICAL,
        "possession order",
    ),
    (
        "ASB with no arrears is still a risk",
        {"arrears_balance": 0, "asb_issues": True},
        RiskLevel.MEDIUM,
        "asb_issues",
    ),
    ("neighbour issues", {"neighbour_issues": True}, RiskLevel.MEDIUM, "neighbour_issues"),
    (
        "possession for ASB, arrears cleared",
        {"arrears_balance": 0, "asb_issues": True, "legal_stage": "possession_order"},
        RiskLevel.CRITICAL,
        "asb_issues",
    ),
]


@pytest.mark.parametrize(("name", "fields", "level", "reason"), CASES, ids=[c[0] for c in CASES])
def test_default_rules(name: str, fields: dict[str, Any], level: RiskLevel | None, reason: str):
    result = assess(alert(**fields), DEFAULT_RULES, TODAY)
    assert result.level == level
    assert any(r.startswith(reason) or reason in r for r in result.reasons), result.reasons


def test_reported_on_is_the_day_the_figures_are_for() -> None:
    late = alert(last_payment_date=date(2025, 12, 1), reported_on=date(2025, 12, 15))
    assert assess(late, DEFAULT_RULES, TODAY).level == RiskLevel.LOW


def test_the_deciding_reason_comes_first() -> None:
    result = assess(
        alert(weeks_in_arrears=2, legal_stage=LegalStage.POSSESSION_ORDER), DEFAULT_RULES, TODAY
    )
    assert result.reasons[0].startswith("legal_stage")


RULE_CASES = [
    (
        "stricter weeks",
        {"weeks_medium": 2, "weeks_high": 3},
        {"weeks_in_arrears": 3},
        RiskLevel.HIGH,
    ),
    ("critical on weeks", {"weeks_critical": 12}, {"weeks_in_arrears": 13}, RiskLevel.CRITICAL),
    (
        "balance rule off",
        {"balance_medium": None, "balance_high": None},
        {"arrears_balance": 5000},
        RiskLevel.LOW,
    ),
    (
        "notice only medium",
        {"notice_served_level": "medium"},
        {"legal_stage": "notice_served"},
        RiskLevel.MEDIUM,
    ),
    ("ASB high", {"asb_level": "high"}, {"asb_issues": True}, RiskLevel.HIGH),
    ("trend ignored", {"worsening_trend_raises": False}, {"trend": "worsening"}, RiskLevel.LOW),
    (
        "no-payment rule off",
        {"no_payment_weeks": None},
        {"last_payment_date": date(2025, 1, 1)},
        RiskLevel.LOW,
    ),
]


@pytest.mark.parametrize(
    ("name", "rules", "fields", "level"), RULE_CASES, ids=[c[0] for c in RULE_CASES]
)
def test_organisation_rules(
    name: str, rules: dict[str, Any], fields: dict[str, Any], level: RiskLevel
):
    assert assess(alert(**fields), RiskRules(**rules), TODAY).level == level


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"weeks_medium": 9, "weeks_high": 8}, "weeks_high"),
        ({"weeks_critical": 5}, "weeks_critical"),
        ({"balance_medium": 2000, "balance_high": 1000}, "balance_high"),
        ({"signal_from": "high", "refer_from": "medium"}, "refer_from"),
        ({"weeks_medium": -1}, "weeks_medium"),
        ({"unknown_threshold": 1}, "unknown_threshold"),
    ],
)
def test_bad_rules_name_the_field(rules: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RiskRules(**rules)
    assert field in str(caught.value)


def test_prevention_organisation_defaults_to_the_landlord() -> None:
    assert DEFAULT_RULES.referral_organisation("derby-homes") == "derby-homes"
    assert (
        RiskRules(prevention_organisation="south-norfolk").referral_organisation("x")
        == "south-norfolk"
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"trend": "sideways"}, "trend"),
        ({"weekly_rent": 0}, "weekly_rent"),
        ({"arrears_balance": float("nan")}, "arrears_balance"),
        ({"legal_stage": "bailiffs"}, "legal_stage"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_alert_names_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        alert(**fields)
    assert caught.value.errors()[0]["loc"][0] == field
