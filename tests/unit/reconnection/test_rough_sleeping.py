"""Tool 3, criterion 2, as one rule: screening (a referral's counts) and eligibility (dated
street contacts) give the same answer for the same history."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.reconnection.eligibility import StreetContact, classify_rough_sleeping
from services.referral.screening import rough_sleeping_reason
from shared.events.referral_intake import RoughSleepingHistory
from shared.rough_sleeping import (
    BEDDED_DOWN_MIN,
    LIVING_ON_STREET_MIN_DAYS,
    RoughSleepingCategory,
    StreetRecord,
    categories,
    living_on_the_street,
)

TODAY = date(2026, 3, 2)
LIVING, INTERMITTENT, BEDDED = (
    RoughSleepingCategory.LIVING_ON_THE_STREET,
    RoughSleepingCategory.INTERMITTENT,
    RoughSleepingCategory.BEDDED_DOWN_CONTACTS,
)


def test_living_on_the_street_is_a_high_number_of_contacts_over_3_weeks_or_more() -> None:
    """Tool 3, 2a: "Living on the street: those who have had a high number of contacts over
    3 weeks or more which suggest they are living on the streets"."""
    assert LIVING_ON_STREET_MIN_DAYS == 21  # 3 weeks
    assert living_on_the_street(5, 21)
    assert not living_on_the_street(5, 20)  # under 3 weeks
    assert not living_on_the_street(4, 21)  # not a high number
    assert living_on_the_street(9, 40)
    # Five contacts scattered over three months do not suggest living on the streets.
    assert not living_on_the_street(5, 90)


def test_intermittent_is_seen_before_the_period_and_contacted_in_it() -> None:
    """Tool 3, 2b: "people who were seen rough sleeping at some point before the period began,
    and contacted in the period but not regularly enough to be 'living on the streets'"."""
    assert categories(StreetRecord(contacts=1, seen_before_period=True)) == [INTERMITTENT]
    assert categories(StreetRecord(contacts=0, seen_before_period=True)) == []  # no contact
    assert categories(StreetRecord(contacts=2, span_days=30)) == []  # never seen before
    living = StreetRecord(contacts=6, span_days=25, seen_before_period=True)
    assert categories(living) == [LIVING]  # regular enough: living, not intermittent


def test_two_or_more_bedded_down_contacts() -> None:
    """Tool 3, 2c: "A rough sleeper who has 2 or more bedded down contacts on CHAIN"."""
    assert BEDDED_DOWN_MIN == 2
    assert categories(StreetRecord(bedded_down_contacts=2)) == [BEDDED]
    assert categories(StreetRecord(bedded_down_contacts=1)) == []


# Histories as dated contacts (days before TODAY, bedded down or not), seen before or not.
HISTORIES = [
    ((0, 5, 10, 15, 21), (), False),  # 5 contacts over 3 weeks
    ((0, 5, 14, 16, 21), (), False),  # one 9-day gap: still a contact a week on average
    ((0, 5, 10, 15, 20), (), False),  # 20 days: under 3 weeks
    ((0, 1, 2, 3, 30), (), False),  # 5 contacts, but scattered over 30 days
    ((0, 7, 14, 21), (), False),  # 3 weeks, 4 contacts
    ((0, 30, 60, 85, 88), (), False),  # 5 contacts over 88 days
    ((3,), (), True),  # intermittent
    ((3,), (), False),
    ((40, 50), (40, 50), False),  # 2 bedded down
    ((40,), (40,), False),  # 1 bedded down
]


@pytest.mark.parametrize(("days_ago", "bedded", "seen_before"), HISTORIES)
def test_screening_and_eligibility_apply_the_same_rule(
    days_ago: tuple[int, ...], bedded: tuple[int, ...], seen_before: bool
) -> None:
    """The referral's counts (contacts over its period, bedded-down contacts, "intermittent")
    and the caseworker's dated contacts qualify the same person, or neither does."""
    days = sorted(TODAY - timedelta(days=d) for d in days_ago)
    history = RoughSleepingHistory(
        contacts=len(days),
        bedded_down_contacts=len(bedded),
        period_start=days[0],
        period_end=days[-1],
        intermittent=seen_before,
    )
    dated = [StreetContact(on=d, bedded_down=(TODAY - d).days in bedded) for d in days]
    screened = rough_sleeping_reason(history, TODAY) is not None
    eligible = bool(classify_rough_sleeping(dated, seen_before, TODAY))
    assert screened == eligible
