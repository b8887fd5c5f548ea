"""When a caseworker's capacity changes, and the CaseworkerCapacityChanged it emits (issue 18:
capacity over time, set against demand): a caseworker added, their hours per week for casework
changed, moved to another team, left (inactive) or back. Pure: the store writes the event.

The event id is derived from the worker's record: its id, the version the change was decided
on and the capacity it leads to. Asked again with the same body, a change finds that capacity
already there and emits nothing; two identical changes decided on one version share one id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.allocation.records import Caseworker
from shared.events.catalogue import CaseworkerCapacityChanged
from shared.events.envelope import Envelope, make_event
from shared.ids import stable_id

SOURCE = "allocation"
ADDED = -1  # the "version" a new caseworker's first capacity is decided on


@dataclass(frozen=True)
class Capacity:
    """What outcomes counts of a caseworker: their team, hours for casework, whether active."""

    team_id: str
    hours_per_week: float
    active: bool


def capacity_of(worker: Caseworker) -> Capacity:
    return Capacity(worker.team_id, worker.contracted_hours, worker.active)


def capacity_after(
    worker: Caseworker, fields: dict[str, Any], contracted_hours: float | None
) -> Capacity:
    """The capacity a change of the worker's fields (`team_id`, `active`) and contracted
    hours leaves them with."""
    return Capacity(
        team_id=str(fields.get("team_id", worker.team_id)),
        hours_per_week=worker.contracted_hours if contracted_hours is None else contracted_hours,
        active=bool(fields.get("active", worker.active)),
    )


def capacity_changed(
    worker: Caseworker, before: Capacity | None, after: Capacity, version: int, at: datetime
) -> list[Envelope]:
    """The event of a change from `before` (None: the worker is new) to `after`; none when
    the capacity stays as it was."""
    if before == after:
        return []
    data = CaseworkerCapacityChanged(
        caseworker_id=worker.worker_id,
        team_id=after.team_id,
        hours_per_week=after.hours_per_week,
        active=after.active,
        changed_at=at,
    )
    key = (after.team_id, f"{after.hours_per_week:g}", str(after.active))
    event_id = stable_id(
        worker.organisation, worker.worker_id, CaseworkerCapacityChanged.TYPE, str(version), *key
    )
    envelope = make_event(
        data, source=SOURCE, organisation=worker.organisation, event_id=event_id, time=at
    )
    return [envelope]
