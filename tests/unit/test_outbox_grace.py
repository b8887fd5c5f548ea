"""The sweeper's grace stretches with the relay's own recent flush times (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.outbox import OUTBOX, WRITTEN_AT, OutboxRelay, RecentLongest


class Ticks:
    """A clock the test moves, so no assertion depends on how long a sleep really took."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_recent_longest_keeps_the_longest_within_the_window() -> None:
    clock = Ticks()
    recent = RecentLongest(window=60, now=clock)
    assert recent.longest() == 0.0
    for value in (1.0, 3.0, 2.0):
        recent.note(value)
    assert recent.longest() == 3.0
    clock.now = 61
    assert recent.longest() == 0.0  # all noted before the window


def test_a_later_smaller_value_outlives_an_expired_longer_one() -> None:
    clock = Ticks()
    recent = RecentLongest(window=60, now=clock)
    recent.note(5.0)
    clock.now = 40
    recent.note(1.0)
    clock.now = 80
    assert recent.longest() == 1.0


def written(seconds_ago: float, events: bool = True) -> dict[str, Any]:
    at = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    return {"_id": "d", WRITTEN_AT: at, OUTBOX: {"k": {}} if events else {}}


def test_sweep_grace_is_twice_the_slowest_recent_flush() -> None:
    relay = OutboxRelay(publisher=None, grace=timedelta(seconds=2))  # type: ignore[arg-type]
    assert relay.sweep_grace() == timedelta(seconds=2)
    relay._flushed([written(0.5)])
    assert relay.sweep_grace() == timedelta(seconds=2)  # the floor
    relay._flushed([written(1.0), written(4.0)])  # a batch: its oldest write counts
    assert timedelta(seconds=8) <= relay.sweep_grace() < timedelta(seconds=8.5)


def test_documents_without_events_do_not_count() -> None:
    # A write that queued nothing keeps an old _outbox_at; its "age" says nothing of flushing.
    relay = OutboxRelay(publisher=None, grace=timedelta(seconds=2))  # type: ignore[arg-type]
    relay._flushed([written(600, events=False)])
    assert relay.sweep_grace() == timedelta(seconds=2)
