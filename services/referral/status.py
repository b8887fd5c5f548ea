"""A referral's status as its referrer sees it; it only ever moves forward. Pure."""

from __future__ import annotations

from enum import StrEnum


class ReferralStatus(StrEnum):
    RECEIVED = "received"
    ASSESSED = "assessed"  # with route and reasons
    ALLOCATED = "allocated"  # a lead worker has the case
    CLOSED = "closed"  # the case ended; the referrer's loop is closed

    @property
    def rank(self) -> int:
        return list(ReferralStatus).index(self)


def moves_forward(current: ReferralStatus, new: ReferralStatus) -> bool:
    """A late or replayed CaseAllocated never reopens a closed referral."""
    return new.rank > current.rank


def statuses_before(new: ReferralStatus) -> list[str]:
    """The statuses a referral may be in for `new` to apply (for a guarded update filter)."""
    return [s.value for s in ReferralStatus if s.rank < new.rank]
