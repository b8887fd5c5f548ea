"""Outcomes of notification deliveries."""

from __future__ import annotations

from typing import ClassVar

from shared.events.base import EventData
from shared.topics import Topic


class NotificationSent(EventData):
    TYPE: ClassVar[str] = "NotificationSent"
    TOPIC: ClassVar[str] = Topic.NOTIFICATION_EVENTS

    notification_id: str
    case_id: str
    trigger_event_id: str
    recipient_role: str
    channel: str
    template: str


class NotificationFailed(NotificationSent):
    TYPE: ClassVar[str] = "NotificationFailed"

    reason: str
    parked: bool = True
