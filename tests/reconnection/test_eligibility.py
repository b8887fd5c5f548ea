"""Tool 3's criteria, from the referral form's own definitions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.reconnection.eligibility import (
    EligibilityInput,
    RoughSleepingCategory,
    StreetContact,
    Verdict,
    assess_eligibility,
    classify_rough_sleeping,
)
from shared.codes import SupportNeed

TODAY = date(2026, 3, 2)
LIVING, INTERMITTENT, BEDDED = (
    RoughSleepingCategory.LIVING_ON_THE_STREET,
    RoughSleepingCategory.INTERMITTENT,
    RoughSleepingCategory.BEDDED_DOWN_CONTACTS,
)


def contacts(*days_ago: int, bedded: tuple[int, ...] = ()) -> list[StreetContact]:
    return [StreetContact(on=TODAY - timedelta(days=d), bedded_down=d in bedded) for d in days_ago]


@pytest.mark.parametrize(
    ("street", "seen_before", "expected"),
    [
        (contacts(0, 5, 10, 15, 21), False, [LIVING]),  # 5 contacts over 3 weeks, gaps <= 7 days
        (contacts(0, 5, 10, 15, 20), False, []),  # only 20 days: not 3 weeks
        (contacts(0, 7, 14, 21), False, []),  # 3 weeks but only 4 contacts
        (contacts(0, 5, 12, 16, 21), False, [LIVING]),  # a contact a week or more often
        (contacts(0, 5, 14, 16, 21), False, [LIVING]),  # one gap of 9 days, a week on average
        (contacts(0, 1, 2, 3, 30), False, []),  # 30 days, but not a contact a week on average
        # Six contacts 54 to 30 days ago (24 days) count, whatever came before and after.
        (contacts(0, 1, 2, 3, 30, 50, 51, 52, 53, 54, 75), False, [LIVING]),
        (contacts(3, 40), True, [INTERMITTENT]),  # contacted in the period, seen before it
        (
            contacts(3, 95),
            False,
            [INTERMITTENT],
        ),  # an older contact before the period is "seen before"
        (contacts(3), False, []),  # one contact, no history
        (contacts(100), True, []),  # nothing in the period
        (
            contacts(200, 300, bedded=(200, 300)),
            False,
            [BEDDED],
        ),  # 2 bedded-down contacts, any time
        (contacts(0, 5, 10, 15, 21, bedded=(0, 5)), False, [LIVING, BEDDED]),
        (contacts(-3, -1, bedded=(-3, -1)), False, []),  # future contacts are not history
    ],
)
def test_rough_sleeping_definitions(street, seen_before, expected) -> None:
    assert classify_rough_sleeping(street, seen_before, TODAY) == expected


def check(**overrides):  # type: ignore[no-untyped-def]
    given = {
        "street_contacts": contacts(1, 20, bedded=(1, 20)),
        "recourse_to_public_funds": True,
        "has_id": True,
    }
    args = {
        "referral_needs": [SupportNeed.MENTAL_HEALTH, SupportNeed.ALCOHOL_DEPENDENCY],
        "referring_area": "Hackney",
        "connection_areas": ["Leeds"],
    }
    for key in list(overrides):
        if key in args:
            args[key] = overrides.pop(key)
    given.update(overrides)
    return assess_eligibility(EligibilityInput.model_validate(given), today=TODAY, **args)


def test_all_three_criteria_with_public_funds_is_eligible() -> None:
    result = check()
    assert result.verdict is Verdict.ELIGIBLE
    assert [c.status for c in result.criteria] == ["met", "met", "met"]


@pytest.mark.parametrize(
    ("overrides", "verdict", "failing"),
    [
        (
            {"connection_areas": ["hackney"]},
            Verdict.NOT_ELIGIBLE,
            "local_connection_outside_referring_area",
        ),
        ({"connection_areas": []}, Verdict.NOT_ELIGIBLE, "local_connection_outside_referring_area"),
        ({"connection_areas": None}, Verdict.INCOMPLETE, "local_connection_outside_referring_area"),
        ({"street_contacts": []}, Verdict.INCOMPLETE, "rough_sleeping_history"),
        ({"street_contacts": contacts(2)}, Verdict.NOT_ELIGIBLE, "rough_sleeping_history"),
        ({"referral_needs": [SupportNeed.MENTAL_HEALTH]}, Verdict.NOT_ELIGIBLE, "multiple_needs"),
        # Rough sleeping itself is not one of the multiple needs.
        (
            {"referral_needs": [SupportNeed.MENTAL_HEALTH, SupportNeed.ROUGH_SLEEPING]},
            Verdict.NOT_ELIGIBLE,
            "multiple_needs",
        ),
        ({"recourse_to_public_funds": False}, Verdict.NOT_ELIGIBLE, "recourse_to_public_funds"),
        ({"recourse_to_public_funds": None}, Verdict.INCOMPLETE, "recourse_to_public_funds"),
    ],
)
def test_each_criterion_decides(overrides, verdict, failing) -> None:
    result = check(**overrides)
    assert result.verdict is verdict
    statuses = {c.name: c.status for c in [*result.criteria, *result.checks]}
    assert statuses[failing] != "met"


def test_confirmed_needs_replace_the_referral_needs() -> None:
    result = check(
        support_needs=[SupportNeed.OFFENDING, SupportNeed.DRUG_DEPENDENCY], referral_needs=[]
    )
    assert result.verdict is Verdict.ELIGIBLE


def test_missing_id_is_an_action_not_a_bar() -> None:
    result = check(has_id=False)
    assert result.verdict is Verdict.ELIGIBLE
    assert any("ID" in a for a in result.actions)
