"""What the outcomes service consumes: every platform event on the spine topics, never the
restricted topic, the privacy topics or the audit trail (they carry personal data)."""

from __future__ import annotations

import shared.events.catalogue  # noqa: F401 - registers every event type
from shared.events.base import EventData, registered_types
from shared.topics import Topic

SUBSCRIBES = (
    Topic.REFERRAL_EVENTS,
    Topic.TENANCY_RISK,
    Topic.CASE_EVENTS,
    Topic.RECONNECTION_EVENTS,
    Topic.NOTIFICATION_EVENTS,
    Topic.OUTCOMES_HISTORY,
)
# Imported history (shared/events/history_events.py): its records are unwrapped, never kept
# themselves; each inner event is recorded as if it had come on its own topic.
HISTORY_TOPICS = (Topic.OUTCOMES_HISTORY,)
PLATFORM_EVENTS = "shared.events."


def consumed_models() -> tuple[type[EventData], ...]:
    """Every platform event type (the catalogue's, never one a test or plug-in registered)
    that travels on a subscribed topic (the history topic's records are not among them: they
    are unwrapped into these)."""
    topics = {str(t) for t in SUBSCRIBES if t not in HISTORY_TOPICS}
    models = {
        m
        for m in registered_types().values()
        if str(m.TOPIC) in topics and m.__module__.startswith(PLATFORM_EVENTS)
    }
    return tuple(sorted(models, key=lambda m: m.TYPE))
