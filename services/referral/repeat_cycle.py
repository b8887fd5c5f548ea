"""The cycle of homelessness: people who keep re-entering services (staged floating support
model: "a small group of people who continuously re-enter services"). Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.codes import ClosureReason

WINDOW = timedelta(days=365)
MIN_CLOSED_CASES = 2
# A transfer hands the same episode to another service; it is not a new presentation.
NOT_A_CYCLE = frozenset({ClosureReason.TRANSFERRED})


@dataclass(frozen=True)
class Closure:
    case_id: str
    closed_at: datetime
    reason: ClosureReason


def recent_closures(closures: Iterable[Closure], now: datetime) -> list[Closure]:
    """Distinct cases closed in the last 12 months, transfers excluded."""
    seen: dict[str, Closure] = {}
    for closure in closures:
        if closure.reason in NOT_A_CYCLE or not (now - WINDOW <= closure.closed_at <= now):
            continue
        seen.setdefault(closure.case_id, closure)
    return list(seen.values())


def in_repeat_cycle(closures: Iterable[Closure], now: datetime) -> bool:
    return len(recent_closures(closures, now)) >= MIN_CLOSED_CASES


def repeat_cycle_reason(closures: Iterable[Closure], now: datetime) -> str | None:
    recent = recent_closures(closures, now)
    if len(recent) < MIN_CLOSED_CASES:
        return None
    return f"repeat cycle: {len(recent)} cases closed in the last 12 months"
