"""Lanes: interactive work (what a person does over HTTP) and bulk work (a landlord's feed)
are handled by separate consumer groups, so a person's event never waits behind a batch.

A lane is decided where work starts and carried in the envelope (`ce_lane`); an event made
while another is handled inherits its lane (`follow_on` explicitly, `make_event` through the
lane in context, which the consumer sets for the event it handles). So one referral's events
travel one lane, and each lane keeps a key's events in order (docs/LANES.md).

A process's workload (`HEARTH_WORKLOAD`) says which lanes' groups it runs, so a deployment
can give the bulk lane processes of its own and a person's work a CPU no batch holds
(docs/LANES.md, "Lanes in processes").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum


class Lane(StrEnum):
    INTERACTIVE = "interactive"
    BULK = "bulk"


class Workload(StrEnum):
    """What one process of a service runs (`EventConsumer.lanes_in` decides per consumer)."""

    ALL = "all"  # every group and the HTTP API: one process per service (tests, the demo)
    INTERACTIVE = "interactive"  # interactive groups, unlaned consumers, the API, timers
    BULK = "bulk"  # `.bulk` groups and the feed's consumers; health and metrics only


# The lane of the event being handled; HTTP requests and timers start interactive.
_current: ContextVar[Lane] = ContextVar("hearth_lane", default=Lane.INTERACTIVE)


def current_lane() -> Lane:
    return _current.get()


@contextmanager
def working_in(lane: Lane) -> Iterator[None]:
    """Events made inside travel `lane` (unless made with a lane of their own)."""
    token = _current.set(lane)
    try:
        yield
    finally:
        _current.reset(token)
