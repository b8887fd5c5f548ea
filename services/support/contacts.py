"""Contact logging rules: channels, files received and planned against actual hours (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from services.support.dates import week_bounds


class ContactChannel(StrEnum):
    HOME_VISIT = "home_visit"
    OFFICE = "office"
    PHONE = "phone"
    TEXT = "text"
    WHATSAPP = "whatsapp"
    EMAIL = "email"
    VIDEO = "video"
    DROP_IN = "drop_in"  # stage 3: drop-in and peer support
    OUTREACH = "outreach"


class FileKind(StrEnum):
    PHOTO = "photo"
    LETTER = "letter"
    DOCUMENT = "document"
    SCREENSHOT = "screenshot"
    OTHER = "other"


@dataclass(frozen=True)
class HoursPeriod:
    """Planned hours per week from a date on (each stage change starts a period)."""

    starts_on: date
    hours_per_week: float


@dataclass(frozen=True)
class ContactHours:
    planned_hours: float
    actual_hours: float
    planned_hours_this_week: float
    actual_hours_this_week: float
    contacts_this_week: int
    required_contacts_per_week: float

    @property
    def contacts_short_this_week(self) -> bool:
        return self.contacts_this_week < self.required_contacts_per_week


def planned_hours(periods: Sequence[HoursPeriod], start: date, end: date) -> float:
    """Planned hours in [start, end): each period's weekly hours pro rata by day."""
    ordered = sorted(periods, key=lambda p: p.starts_on)
    total = 0.0
    for i, period in enumerate(ordered):
        until = ordered[i + 1].starts_on if i + 1 < len(ordered) else end
        days = (min(until, end) - max(period.starts_on, start)).days
        if days > 0:
            total += period.hours_per_week * days / 7
    return round(total, 2)


def contact_hours(
    periods: Sequence[HoursPeriod],
    contacts: Sequence[tuple[date, float]],  # (date, minutes)
    support_started_on: date,
    today: date,
    required_contacts_per_week: float,
) -> ContactHours:
    monday, sunday = week_bounds(today)
    tomorrow = today + timedelta(days=1)
    this_week = [m for d, m in contacts if monday <= d <= sunday]
    return ContactHours(
        planned_hours=planned_hours(periods, support_started_on, tomorrow),
        actual_hours=round(sum(m for _, m in contacts) / 60, 2),
        planned_hours_this_week=planned_hours(
            periods, max(monday, support_started_on), sunday + timedelta(days=1)
        ),
        actual_hours_this_week=round(sum(this_week) / 60, 2),
        contacts_this_week=len(this_week),
        required_contacts_per_week=required_contacts_per_week,
    )
