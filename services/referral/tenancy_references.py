"""The landlord's own reference of a tenancy, told to notifications when referral first sees
the tenancy (its first alert, or a referral naming it).

Tenancy ids are keyed pseudonyms (`shared.ids.tenancy_id`), so the platform topics, which are
never purged, carry no reference; notices still show the landlord the reference it knows, from
this event on the restricted topic (deleted once consumed, erased with the person). Its id is
derived from the tenancy: telling it again is a repeat every inbox drops.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from shared.events.envelope import Envelope, make_event
from shared.events.referral_events import TenancyReferenceShared
from shared.ids import stable_id, tenancy_key
from shared.lanes import Lane

SOURCE = "referral"


def reference_shared(
    tenancy_id: str,
    landlord: str,
    reference: str,
    now: datetime,
    correlation_id: str | None = None,
    lane: Lane | None = None,
) -> Envelope:
    """The event telling notifications which reference `tenancy_id` stands for (written in
    the form the id is made from: trimmed, upper case). `lane`: as `make_event`'s (None: the
    lane of the event being handled)."""
    data = TenancyReferenceShared(
        tenancy_id=tenancy_id, landlord=landlord, reference=reference.strip().upper()
    )
    return make_event(
        data,
        source=SOURCE,
        organisation=landlord,
        correlation_id=correlation_id,
        event_id=stable_id("TenancyReferenceShared", tenancy_id),
        time=now,
        lane=lane,
    )


def require_key(key: str) -> Callable[[], Awaitable[None]]:
    """A startup hook: no tenancy-id key (or a short one) is a startup error naming
    `HEARTH_TENANCY_ID_KEY`. At start, not at build, so contracts are generated without it."""

    async def check() -> None:
        tenancy_key(key)

    return check
