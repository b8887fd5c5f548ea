"""Events of the reconnection (Safe Connections) service."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from shared.events.base import EventData
from shared.topics import Topic


class ReconnectionPhaseChanged(EventData):
    TYPE: ClassVar[str] = "ReconnectionPhaseChanged"
    TOPIC: ClassVar[str] = Topic.CASE_EVENTS

    case_id: str
    previous_phase: str | None
    phase: str
    changed_on: date
    destination_area: str | None = None


class PresentationPackDue(EventData):
    """The presentation pack goes to the destination authority the day before reconnection."""

    TYPE: ClassVar[str] = "PresentationPackDue"
    TOPIC: ClassVar[str] = Topic.RECONNECTION_EVENTS

    case_id: str
    destination_area: str
    reconnection_date: date
