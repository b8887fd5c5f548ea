"""The quarters H-CLIC is sent for: the financial year's, Q1 = April to June. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

# The month each quarter starts in, and its number in the financial year.
QUARTER_OF_MONTH = {4: 1, 7: 2, 10: 3, 1: 4}


@dataclass(frozen=True)
class Quarter:
    start: date  # inclusive
    end: date  # inclusive

    @classmethod
    def starting(cls, start: date) -> Quarter:
        if start.day != 1 or start.month not in QUARTER_OF_MONTH:
            raise ValueError(
                "quarter_start: must be the first day of a financial quarter "
                "(1 April, 1 July, 1 October or 1 January)"
            )
        following = date(start.year + start.month // 10, (start.month + 2) % 12 + 1, 1)
        return cls(start, following - timedelta(days=1))

    @property
    def number(self) -> int:
        return QUARTER_OF_MONTH[self.start.month]

    @property
    def label(self) -> str:
        """e.g. "2026-27 Q1": the financial year starts on 1 April."""
        first = self.start.year if self.start.month >= 4 else self.start.year - 1
        return f"{first}-{(first + 1) % 100:02d} Q{self.number}"

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end
