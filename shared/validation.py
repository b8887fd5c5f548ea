"""Input that means something: pydantic v2 types for values a person could have meant.

Each date type is a window for what the date *is* (an eviction is not in year 1, a birth is not
in 2999, figures are not reported for a day that has not come); money is a number, never a
boolean, within bounds a real balance keeps to; text is valid Unicode (a lone surrogate cannot
be stored, hashed or answered, so it is a 422 naming the field, never a 500); an email field
holds exactly one address. Every refusal is a pydantic error, so it names the field.

Relative windows are measured from "today". A caller that knows the service's business date
(`shared/clock.py`, which tests and the demo move) passes it as validation context:
`Model.model_validate(data, context={"today": clock.now().date()})`; the windows are then
exact. Without it (FastAPI validates request bodies without context) the real date is used and
every relative bound is widened by `NO_CONTEXT_MARGIN` (about six months), so a clock offset of
a few months never refuses a genuine date while year 1 or 9999 still is. Dates of birth are
facts of the real world and are always checked against the real date.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo
from pydantic_core import PydanticCustomError

TODAY_CONTEXT = "today"  # the validation-context key carrying the service's business date
NO_CONTEXT_MARGIN = timedelta(days=183)
YEAR = timedelta(days=366)  # a leap year's worth, so "two years" is never a day short
SKEW = timedelta(days=1)  # clock skew between a sender and us


def today_of(info: ValidationInfo | None) -> tuple[date, bool]:
    """The business date from the validation context, else the real date; and whether the
    context gave it."""
    context = info.context if info is not None else None
    if isinstance(context, dict):
        given = context.get(TODAY_CONTEXT)
        if isinstance(given, datetime):
            return given.date(), True
        if isinstance(given, date):
            return given, True
    return datetime.now(UTC).date(), False


# --- dates -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateWindow:
    """Where a date of one meaning may fall: `past`/`future` from today (None: unbounded that
    way), never before `floor`. `real_world`: checked against the real date, context or not."""

    meaning: str
    past: timedelta | None
    future: timedelta
    floor: date = date(1900, 1, 1)
    real_world: bool = False

    def bounds(self, today: date, exact: bool) -> tuple[date, date]:
        margin = timedelta(0) if exact or self.real_world else NO_CONTEXT_MARGIN
        earliest = self.floor
        if self.past is not None:
            earliest = max(earliest, _shift(today, -(self.past + margin)))
        return earliest, _shift(today, self.future + margin)

    def check(self, value: date, info: ValidationInfo) -> date:
        if self.real_world:
            today, exact = datetime.now(UTC).date(), True
        else:
            today, exact = today_of(info)
        earliest, latest = self.bounds(today, exact)
        if value < earliest:
            raise PydanticCustomError(
                "date_too_early",
                "{meaning} must not be before {earliest}",
                {"meaning": self.meaning, "earliest": earliest.isoformat()},
            )
        if value > latest:
            raise PydanticCustomError(
                "date_too_late",
                "{meaning} must not be after {latest}",
                {"meaning": self.meaning, "latest": latest.isoformat()},
            )
        return value


def _shift(day: date, delta: timedelta) -> date:
    try:
        return day + delta
    except OverflowError:
        return date.max if delta > timedelta(0) else date.min


def _window(window: DateWindow) -> AfterValidator:
    return AfterValidator(window.check)


# An eviction, court, possession-order or notice date, or the day someone faces homelessness:
# a case two years on is history, and courts do not list hearings five years ahead.
LEGAL_DATE = DateWindow("a legal or eviction date", past=2 * YEAR, future=5 * YEAR)
BIRTH_DATE = DateWindow("a date of birth", past=None, future=SKEW, real_world=True)
REPORTED_ON = DateWindow("the day the figures are for", past=2 * YEAR, future=SKEW)
LAST_PAYMENT = DateWindow("a payment date", past=10 * YEAR, future=SKEW)
# Where someone lived, and when they slept rough: the past, or an agreed move up to a year on.
HISTORY_DATE = DateWindow("a housing history date", past=None, future=YEAR)
ROUGH_SLEEPING_DATE = DateWindow("a rough sleeping date", past=None, future=SKEW)
# The day a landlord's feed says a tenancy ended: history, not a plan, and not before the
# tenancy records any partner's system still holds.
TENANCY_ENDED_ON = DateWindow(
    "the day a tenancy ended", past=None, future=SKEW, floor=date(1990, 1, 1)
)

LegalDate = Annotated[date, _window(LEGAL_DATE)]
BirthDate = Annotated[date, _window(BIRTH_DATE)]
ReportedOn = Annotated[date, _window(REPORTED_ON)]
LastPaymentDate = Annotated[date, _window(LAST_PAYMENT)]
HistoryDate = Annotated[date, _window(HISTORY_DATE)]
RoughSleepingDate = Annotated[date, _window(ROUGH_SLEEPING_DATE)]
TenancyEndedOn = Annotated[date, _window(TENANCY_ENDED_ON)]


# --- money and counts ------------------------------------------------------------------------


def not_boolean(value: Any) -> Any:
    """JSON `true` is not £1.00: pydantic's lax mode would read it as 1."""
    if isinstance(value, bool):
        raise PydanticCustomError("number_not_boolean", "must be a number, not true or false")
    return value


@dataclass(frozen=True)
class Bounds:
    low: float
    high: float
    unit: str = "£"

    def check(self, value: float) -> float:
        if not math.isfinite(value):
            raise PydanticCustomError("number_not_finite", "must be a finite number")
        if not self.low <= value <= self.high:
            raise PydanticCustomError(
                "number_out_of_bounds",
                "must be between {low} and {high}",
                {"low": self._show(self.low), "high": self._show(self.high)},
            )
        return value

    def _show(self, amount: float) -> str:
        sign = "-" if amount < 0 else ""
        shown = f"{abs(amount):,.2f}".removesuffix(".00")
        return f"{sign}{self.unit}{shown}"


def _number(low: float, high: float, unit: str = "£") -> tuple[BeforeValidator, AfterValidator]:
    """Never a boolean, within [low, high]."""
    return BeforeValidator(not_boolean), AfterValidator(Bounds(low, high, unit).check)


# A credit of ten million is not a balance: a tenancy's arrears stay within these.
ArrearsBalance = Annotated[float, *_number(-100_000, 1_000_000)]
WeeklyRent = Annotated[float, *_number(0.01, 10_000)]
PaymentAmount = Annotated[float, *_number(0, 1_000_000)]
Weeks = Annotated[float, *_number(0, 1_000, unit="")]


# --- text ------------------------------------------------------------------------------------


def valid_unicode(value: str) -> str:
    """A lone surrogate (JSON "\\ud800") is not text: it cannot be encoded to store, hash or
    answer, so it is refused here rather than failing later as a 500."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PydanticCustomError(
            "text_not_unicode",
            "must be valid Unicode text (a lone surrogate at character {at})",
            {"at": exc.start},
        ) from None
    return value


def printable(value: str) -> str:
    """`value` safe to put in an answer or a log: a lone surrogate shown as its escape."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


Text = Annotated[str, AfterValidator(valid_unicode)]


# --- email -----------------------------------------------------------------------------------

# One address: one @, no separators (comma, semicolon, whitespace, angle brackets) that would
# let a field become a list of recipients, and a dotted domain.
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.][^@\s,;<>]*$")


def one_email(value: str) -> str:
    value = valid_unicode(value.strip())
    if any(sep in value for sep in ",;") or len(value.split()) > 1 or value.count("@") > 1:
        raise PydanticCustomError("email_not_one", "must be exactly one email address")
    if not _EMAIL.match(value) or ".." in value.rsplit("@", 1)[-1]:
        raise PydanticCustomError("email_invalid", "must be an email address like name@example.org")
    return value


Email = Annotated[str, Field(max_length=254), AfterValidator(one_email)]
