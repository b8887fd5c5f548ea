"""The cycle of homelessness flag: 2+ closed cases in the last 12 months."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.referral.repeat_cycle import Closure, in_repeat_cycle, repeat_cycle_reason
from services.referral.status import ReferralStatus, moves_forward
from shared.codes import ClosureReason

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def closed(case: str, days_ago: int, reason: ClosureReason = ClosureReason.EVICTED) -> Closure:
    return Closure(case, NOW - timedelta(days=days_ago), reason)


@pytest.mark.parametrize(
    ("closures", "flagged"),
    [
        ([], False),
        ([closed("a", 10)], False),
        ([closed("a", 10), closed("b", 200)], True),
        ([closed("a", 10), closed("b", 364)], True),
        ([closed("a", 10), closed("b", 366)], False),  # outside the 12-month window
        ([closed("a", 10), closed("a", 20)], False),  # one case closed twice is one case
        ([closed("a", 10), closed("b", 20, ClosureReason.TRANSFERRED)], False),
        ([closed("a", 5, ClosureReason.DISENGAGED), closed("b", 90, ClosureReason.HOSPITAL)], True),
    ],
)
def test_repeat_cycle(closures: list[Closure], flagged: bool) -> None:
    assert in_repeat_cycle(closures, NOW) is flagged
    assert (repeat_cycle_reason(closures, NOW) is not None) is flagged


def test_reason_counts_the_cases() -> None:
    reason = repeat_cycle_reason([closed("a", 1), closed("b", 2), closed("c", 3)], NOW)
    assert reason == "repeat cycle: 3 cases closed in the last 12 months"


@pytest.mark.parametrize(
    ("current", "new", "forward"),
    [
        (ReferralStatus.ASSESSED, ReferralStatus.ALLOCATED, True),
        (ReferralStatus.ASSESSED, ReferralStatus.CLOSED, True),
        (ReferralStatus.ALLOCATED, ReferralStatus.CLOSED, True),
        (ReferralStatus.CLOSED, ReferralStatus.ALLOCATED, False),
        (ReferralStatus.ALLOCATED, ReferralStatus.ALLOCATED, False),
    ],
)
def test_status_only_moves_forward(current, new, forward) -> None:
    assert moves_forward(current, new) is forward
