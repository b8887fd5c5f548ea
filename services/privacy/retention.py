"""An organisation's retention schedule and what it makes due when. Pure: no I/O.

Each record type (`RecordType`: casework, contact details, deliveries, quarantine) is kept for
a period after the case closes, then de-identified (`ErasureRequested`, basis retention, scope
cases). The default is six years for every type, the common council schedule (the HMIS
standard says seven after the last change: an organisation sets its own). A period is days or
years, from 0 days (erase at closure, which tests use) to 100 years.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Self

from pydantic import BaseModel, Field, model_validator

from shared.dates import add_months
from shared.events.privacy_events import RecordType

MAX_YEARS = 100
MAX_DAYS = 36_525  # 100 years


class Period(BaseModel):
    """How long after a case closes its records of one type are kept: days or years."""

    days: Annotated[int | None, Field(ge=0, le=MAX_DAYS, strict=True)] = None
    years: Annotated[int | None, Field(ge=0, le=MAX_YEARS, strict=True)] = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.days is None) == (self.years is None):
            raise ValueError("give exactly one of days or years")
        return self

    def after(self, moment: datetime) -> datetime:
        """`moment` plus this period; a year is a calendar year (29 Feb -> 28 Feb)."""
        if self.years is not None:
            day = add_months(moment.date(), 12 * self.years)
            return moment.replace(year=day.year, month=day.month, day=day.day)
        return moment + timedelta(days=self.days or 0)

    def describe(self) -> str:
        if self.years is not None:
            return f"{self.years} year{'s' if self.years != 1 else ''}"
        return f"{self.days} day{'s' if self.days != 1 else ''}"


DEFAULT_PERIOD = Period(years=6)


def effective_periods(periods: Mapping[RecordType, Period]) -> dict[RecordType, Period]:
    """Every record type's period: the organisation's where it set one, else the default."""
    return {kind: periods.get(kind, DEFAULT_PERIOD) for kind in RecordType}


def plan(
    closed_at: datetime, periods: Mapping[RecordType, Period]
) -> list[tuple[datetime, list[RecordType]]]:
    """When a closed case's records fall due, the types due together grouped under one time,
    earliest first: one erasure per moment, naming every type due then."""
    due: dict[datetime, list[RecordType]] = {}
    for kind, period in effective_periods(periods).items():
        due.setdefault(period.after(closed_at), []).append(kind)
    return sorted((moment, sorted(kinds)) for moment, kinds in due.items())
