"""What happens after a failed attempt: retry later with exponential backoff, or park."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_seconds: float = 30.0
    max_backoff_seconds: float = 3600.0

    def delay(self, attempt: int) -> timedelta:
        """Wait after the `attempt`-th failure (1-based): base, 2x, 4x ... capped."""
        seconds = self.backoff_seconds * 2 ** max(0, attempt - 1)
        return timedelta(seconds=min(seconds, self.max_backoff_seconds))


@dataclass(frozen=True)
class AfterFailure:
    park: bool
    retry_at: datetime | None = None


def after_failure(
    policy: RetryPolicy, attempts_this_cycle: int, permanent: bool, now: datetime
) -> AfterFailure:
    """`attempts_this_cycle` counts this failure; an operator's resend starts a new cycle."""
    if permanent or attempts_this_cycle >= policy.max_attempts:
        return AfterFailure(park=True)
    return AfterFailure(park=False, retry_at=now + policy.delay(attempts_this_cycle))
