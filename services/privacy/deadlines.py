"""When a subject-access request must be answered (UK GDPR Article 12(3): one month).

The ICO counts the month from the day after receipt to the corresponding calendar date of the
next month: received 3 September, due 3 October. When the next month has no such date the
answer is due on its last day: received 31 January, due 28 February (29 in a leap year).

Hearth does not move the date past a weekend or bank holiday, which the ICO allows: the
earlier date is always within the law and needs no holiday calendar per nation.
"""

from __future__ import annotations

from datetime import date

from shared.dates import add_months


def response_due(received_on: date) -> date:
    """The last day on which the answer is on time."""
    return add_months(received_on, 1)


def is_overdue(due_on: date, today: date, fulfilled: bool) -> bool:
    """Unanswered after its last day; a fulfilled request is never overdue (even if late)."""
    return not fulfilled and today > due_on
