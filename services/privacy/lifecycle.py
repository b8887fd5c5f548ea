"""A subject-access request's life: received -> in progress (some services answered) ->
fulfilled (every contributor in `PRIVACY_CONTRIBUTORS` answered). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from enum import StrEnum

from shared.events.privacy_events import PRIVACY_CONTRIBUTORS


class RequestStatus(StrEnum):
    RECEIVED = "received"  # asked of every service, nobody has answered yet
    IN_PROGRESS = "in-progress"  # some services answered
    FULFILLED = "fulfilled"  # every contributor answered: the bundle is ready


def awaiting(
    answered: Collection[str], contributors: Iterable[str] = PRIVACY_CONTRIBUTORS
) -> list[str]:
    """The contributors whose answer is still missing, in the contract's order."""
    return [service for service in contributors if service not in answered]


def is_complete(answered: Collection[str]) -> bool:
    return not awaiting(answered)


def status_of(answered: Collection[str], fulfilled: bool) -> RequestStatus:
    if fulfilled or is_complete(answered):
        return RequestStatus.FULFILLED
    return RequestStatus.IN_PROGRESS if answered else RequestStatus.RECEIVED


def is_contributor(service: str) -> bool:
    """An answer from a service outside the contract is not waited for, nor stored."""
    return service in PRIVACY_CONTRIBUTORS
