"""Imported history in batches, and back (issue 18). Pure.

`batches` wraps past events in `HistoryImported` records for the history topic, which only
the outcomes service reads: one organisation's events per record, at most
`MAX_EVENTS_PER_BATCH` of them and well under the broker's 1 MB record limit. `unwrap` reads
a record back into its inner envelopes and typed events, which the outcomes service then
records exactly as if each had arrived on its own topic (the fact id is the inner event id).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime

from pydantic import ValidationError

from shared.events.base import EventData
from shared.events.envelope import Envelope, EnvelopeError, make_event
from shared.events.history_events import MAX_BATCH_BYTES, MAX_EVENTS_PER_BATCH, HistoryImported
from shared.ids import stable_id

SOURCE = "outcomes.import-history"


class HistoryError(ValueError):
    """An imported batch that can never be recorded; the message names the field."""


def batches(envelopes: Iterable[Envelope], label: str, at: datetime) -> list[Envelope]:
    """The events as `HistoryImported` records, one organisation's per record, in their
    order. `label` names the import (e.g. its seed and end): with it the batch ids, and so
    the records' event ids, are the same when the same history is imported again."""
    by_organisation: dict[str, list[Envelope]] = defaultdict(list)
    for envelope in envelopes:
        by_organisation[envelope.organisation].append(envelope)
    records: list[Envelope] = []
    for organisation, events in sorted(by_organisation.items()):
        chunk: list[dict[str, object]] = []
        size = 0
        for envelope in events:
            dumped = envelope.model_dump(mode="json")
            length = len(json.dumps(dumped, separators=(",", ":"))) + 1
            if chunk and (len(chunk) >= MAX_EVENTS_PER_BATCH or size + length > MAX_BATCH_BYTES):
                records.append(_record(organisation, label, len(records), chunk, at))
                chunk, size = [], 0
            chunk.append(dumped)
            size += length
        if chunk:
            records.append(_record(organisation, label, len(records), chunk, at))
    return records


def _record(
    organisation: str, label: str, n: int, events: list[dict[str, object]], at: datetime
) -> Envelope:
    batch_id = f"{organisation}:{label}:{n:05d}"
    return make_event(
        HistoryImported(batch_id=batch_id, events=events),
        source=SOURCE,
        organisation=organisation,
        event_id=stable_id("history-batch", batch_id),
        time=at,
    )


def unwrap(
    batch: Envelope, data: HistoryImported, models: Mapping[str, type[EventData]]
) -> list[tuple[Envelope, EventData]]:
    """The batch's inner envelopes with their typed events. Refused whole (naming the field)
    if one is not an envelope, not of a type in `models` (those the outcomes service keeps),
    not of the batch's organisation, or its data does not validate."""
    inner: list[tuple[Envelope, EventData]] = []
    for i, raw in enumerate(data.events):
        where = f"events.{i}"
        try:
            envelope = Envelope.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise HistoryError(f"{where}.{field}: {first['msg']}") from exc
        if envelope.type not in models:
            raise HistoryError(f"{where}.type: {envelope.type!r} is not an event outcomes keeps")
        if envelope.organisation != batch.organisation:
            raise HistoryError(
                f"{where}.organisation: {envelope.organisation!r} is not the batch's "
                f"organisation {batch.organisation!r}"
            )
        try:
            inner.append((envelope, envelope.payload()))
        except EnvelopeError as exc:
            raise HistoryError(f"{where}.{exc}") from exc
    return inner
