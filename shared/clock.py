"""Time comes from a clock object so tests can move it forward instead of sleeping."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from shared.settings import HearthSettings


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; shared by reference with the code under test."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


class OffsetFileClock:
    """Real time moved forward by the number of seconds written in a file.

    For demos and end-to-end tests of services running as separate processes: writing
    `7257600` (twelve weeks) into the file makes every service live twelve weeks ahead, so
    reviews come due without waiting. Set by HEARTH_CLOCK_OFFSET_FILE; refused in production.
    """

    def __init__(self, path: str | Path, reread_seconds: float = 0.2) -> None:
        self.path = Path(path)
        self.reread_seconds = reread_seconds
        self._offset = 0.0
        self._read_at = float("-inf")

    def offset(self) -> timedelta:
        if time.monotonic() - self._read_at > self.reread_seconds:
            try:
                self._offset = float(self.path.read_text().strip() or 0)
            except (OSError, ValueError):
                self._offset = 0.0
            self._read_at = time.monotonic()
        return timedelta(seconds=self._offset)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset()


def clock_from_settings(settings: HearthSettings | str) -> Clock:
    """The clock a service runs on: real time, unless a deployment that is not production
    asks for a scenario clock (the platform.clock topic, shared/scenario_clock.py) or an
    offset file. In production either one refuses to start (ScenarioClockRefused).
    A bare string is an offset file's path (as before settings named the environment)."""
    if isinstance(settings, str):
        return OffsetFileClock(settings) if settings else SystemClock()
    from shared.scenario_clock import ScenarioClock, refuse_in_production  # imports this

    refuse_in_production(settings)
    if settings.scenario_clock:
        base = OffsetFileClock(settings.clock_offset_file) if settings.clock_offset_file else None
        return ScenarioClock(settings, base)
    if settings.clock_offset_file:
        return OffsetFileClock(settings.clock_offset_file)
    return SystemClock()
