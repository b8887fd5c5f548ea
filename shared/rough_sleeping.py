"""Safe Connections Tool 3, criterion 2: "A history of rough sleeping or is a current rough
sleeper", in the form's three definitions. The one rule both referral screening (the counts a
referral carries) and reconnection eligibility (the dated street contacts a caseworker records)
apply, so a client never qualifies in one and not the other.

a. "Living on the street: those who have had a high number of contacts over 3 weeks or more
   which suggest they are living on the streets": at least LIVING_ON_STREET_MIN_CONTACTS
   contacts over at least LIVING_ON_STREET_MIN_DAYS days, regular enough to suggest living
   there (b's contrast): on average at most REGULAR_GAP_DAYS between contacts.
b. "Intermittent rough sleepers: people who were seen rough sleeping at some point before the
   period began, and contacted in the period but not regularly enough to be 'living on the
   streets'".
c. "A rough sleeper who has 2 or more bedded down contacts on CHAIN".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

LIVING_ON_STREET_MIN_CONTACTS = 5  # "a high number of contacts" (Hearth's reading)
LIVING_ON_STREET_MIN_DAYS = 21  # "over 3 weeks or more"
REGULAR_GAP_DAYS = 7  # "regularly": a contact a week on average, at least
BEDDED_DOWN_MIN = 2  # "2 or more bedded down contacts on CHAIN"
PERIOD_DAYS = 90  # the period dated contacts are counted in, up to the day of assessment


class RoughSleepingCategory(StrEnum):
    LIVING_ON_THE_STREET = "living_on_the_street"
    INTERMITTENT = "intermittent"
    BEDDED_DOWN_CONTACTS = "bedded_down_contacts"


@dataclass(frozen=True)
class StreetRecord:
    """What the rule reads: contacts in the period and the days they span (first to last),
    whether the person was seen rough sleeping before the period, and bedded-down contacts."""

    contacts: int = 0
    span_days: int = 0
    seen_before_period: bool = False
    bedded_down_contacts: int = 0


def living_on_the_street(contacts: int, span_days: int) -> bool:
    """Definition a: enough contacts, over 3 weeks or more, a week apart at most on average."""
    return (
        contacts >= LIVING_ON_STREET_MIN_CONTACTS
        and span_days >= LIVING_ON_STREET_MIN_DAYS
        and span_days <= (contacts - 1) * REGULAR_GAP_DAYS
    )


def categories(record: StreetRecord) -> list[RoughSleepingCategory]:
    """Which of criterion 2's definitions hold (empty: the criterion is not met)."""
    found: list[RoughSleepingCategory] = []
    if living_on_the_street(record.contacts, record.span_days):
        found.append(RoughSleepingCategory.LIVING_ON_THE_STREET)
    elif record.contacts >= 1 and record.seen_before_period:
        found.append(RoughSleepingCategory.INTERMITTENT)
    if record.bedded_down_contacts >= BEDDED_DOWN_MIN:
        found.append(RoughSleepingCategory.BEDDED_DOWN_CONTACTS)
    return found


def record_of_contacts(
    contacts: Sequence[tuple[date, bool]], seen_before_period: bool, today: date
) -> StreetRecord:
    """The record of dated contacts `(day, bedded_down)` on `today`: those in the last
    PERIOD_DAYS days; a stretch of them that meets definition a is the one counted (earlier
    or later scattered contacts do not hide it). A contact before the period means "seen
    before"; one after today is not history and is ignored."""
    period_start = today - timedelta(days=PERIOD_DAYS - 1)
    known = sorted(day for day, _ in contacts if day <= today)
    days = [d for d in known if d >= period_start]
    bedded = sum(1 for day, bedded_down in contacts if bedded_down and day <= today)
    before = seen_before_period or any(d < period_start for d in known)
    count, span = len(days), (days[-1] - days[0]).days if days else 0
    for first in range(len(days)):
        for last in range(first + LIVING_ON_STREET_MIN_CONTACTS - 1, len(days)):
            stretch = (days[last] - days[first]).days
            if living_on_the_street(last - first + 1, stretch):
                count, span = last - first + 1, stretch
                break
        else:
            continue
        break
    return StreetRecord(count, span, before, bedded)
