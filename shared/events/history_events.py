"""History imported into the outcomes service only (issue 18): a year of generated events for
the demo, or a migration's past. It travels on a topic no other service reads, so nothing acts
on invented or past events (no notice is sent, no case allocated); the outcomes service
records each inner event as if it had arrived on its own topic."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from shared.events.base import EventData
from shared.topics import Topic

# Inner events per record, and the record's budget: well under the broker's 1 MB limit.
MAX_EVENTS_PER_BATCH = 500
MAX_BATCH_BYTES = 700_000


class HistoryImported(EventData):
    """One batch of past events, each the JSON of its whole envelope (id, type, time,
    organisation, data), all of the organisation that publishes the batch."""

    TYPE: ClassVar[str] = "HistoryImported"
    TOPIC: ClassVar[str] = Topic.OUTCOMES_HISTORY

    batch_id: str = Field(min_length=1, max_length=200)
    events: list[dict[str, Any]] = Field(max_length=MAX_EVENTS_PER_BATCH)

    def subject(self) -> str:
        return self.batch_id
