"""CloudEvents 1.0 envelope for every Hearth event.

On Kafka it travels in binary mode: attributes as `ce_` headers (extension names in lowercase,
as the spec requires), the data as JSON in the record value, the partition key as the record key
so that one case's (or one tenancy's) events stay in order. The extension `ce_lane` says which
consumers handle it, interactive or bulk (`shared.lanes`); it is written only for bulk.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

import shared.events.catalogue  # noqa: F401  registers every type
from shared.events.base import EventData, event_type_name, model_for_type
from shared.ids import new_id, stable_id
from shared.lanes import Lane, current_lane

CONTENT_TYPE = "application/json"
# Attributes carried as ce_<name> headers, in this order.
HEADER_ATTRIBUTES = (
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "subject",
    "dataschema",
    "organisation",
    "correlationid",
    "causationid",
    "partitionkey",
    "lane",
)
REQUIRED = ("specversion", "id", "source", "type", "time", "subject", "organisation")


class EnvelopeError(ValueError):
    """An event that cannot be read; the message names the field."""


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str
    type: str
    time: datetime
    subject: str
    dataschema: str | None = None
    datacontenttype: str = CONTENT_TYPE
    organisation: str
    correlationid: str
    causationid: str | None = None
    partitionkey: str
    lane: Lane = Lane.INTERACTIVE
    data: dict[str, Any] = Field(default_factory=dict)

    def payload(self) -> EventData:
        """The typed data, validated against the catalogue model for this type."""
        model = model_for_type(self.type)
        if model is None:
            raise EnvelopeError(f"type: unknown event type {self.type!r}")
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise EnvelopeError(f"data.{where}: {first['msg']}") from exc

    @property
    def short_type(self) -> str:
        """`hearth.CaseAllocated.v1` -> `CaseAllocated`."""
        parts = self.type.split(".")
        return parts[1] if len(parts) == 3 else self.type


def make_event(
    data: EventData,
    *,
    source: str,
    organisation: str,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
    lane: Lane | None = None,
) -> Envelope:
    """An event; its lane is `lane`, else that of the event being handled (`shared.lanes`)."""
    event_id = event_id or new_id()
    return Envelope(
        id=event_id,
        source=source,
        type=event_type_name(type(data)),
        time=time or datetime.now(UTC),
        subject=data.subject(),
        dataschema=f"urn:hearth:schema:{type(data).TYPE}:v{type(data).VERSION}",
        organisation=organisation,
        correlationid=correlation_id or event_id,
        causationid=causation_id,
        partitionkey=data.partition_key(),
        lane=lane or current_lane(),
        data=data.model_dump(mode="json"),
    )


def follow_on(
    parent: Envelope,
    data: EventData,
    *,
    source: str,
    discriminator: str = "",
    time: datetime | None = None,
    organisation: str | None = None,
) -> Envelope:
    """An event caused by `parent`, in its lane. Its id is derived, so handling `parent` twice
    yields the same event id and downstream inboxes ignore the repeat."""
    return make_event(
        data,
        source=source,
        organisation=organisation or parent.organisation,
        correlation_id=parent.correlationid,
        causation_id=parent.id,
        event_id=stable_id(parent.id, source, type(data).TYPE, discriminator),
        time=time,
        lane=parent.lane,
    )


# --- Kafka binary mode -------------------------------------------------------------------


def to_kafka(envelope: Envelope) -> tuple[bytes, bytes, dict[str, str]]:
    """(key, value, headers) for one Kafka record."""
    headers = {"content-type": envelope.datacontenttype}
    for name in HEADER_ATTRIBUTES:
        value = getattr(envelope, name)
        if value is None or (name == "lane" and value == Lane.INTERACTIVE):
            continue  # absent: the interactive lane, as every record written before lanes
        headers[f"ce_{name}"] = (
            value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value
        )
    value_bytes = json.dumps(envelope.data, separators=(",", ":")).encode()
    return envelope.partitionkey.encode(), value_bytes, headers


def from_kafka(
    key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]] | dict[str, Any]
) -> Envelope:
    """Read a binary-mode record; raise EnvelopeError naming the missing or bad field."""
    pairs = headers.items() if isinstance(headers, dict) else headers
    attrs: dict[str, Any] = {}
    content_type = CONTENT_TYPE
    for name, raw in pairs:
        text = raw.decode() if isinstance(raw, bytes | bytearray) else str(raw)
        if name.startswith("ce_"):
            attrs[name[3:]] = text
        elif name == "content-type":
            content_type = text
    for name in REQUIRED:
        if not attrs.get(name):
            raise EnvelopeError(f"ce_{name}: required header missing")
    if attrs["specversion"] != "1.0":
        raise EnvelopeError(f"ce_specversion: unsupported {attrs['specversion']!r}")
    if not content_type.startswith("application/json"):
        raise EnvelopeError(f"content-type: expected application/json, got {content_type!r}")
    try:
        data = json.loads(value) if value else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise EnvelopeError(f"data: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise EnvelopeError("data: expected a JSON object")
    if "lane" in attrs and attrs["lane"] not in set(Lane):
        lanes = ", ".join(Lane)
        raise EnvelopeError(f"ce_lane: unknown lane {attrs['lane']!r} (expected one of {lanes})")
    attrs.setdefault("correlationid", attrs["id"])
    attrs.setdefault("partitionkey", key.decode() if key else attrs["subject"])
    try:
        return Envelope(**attrs, datacontenttype=content_type, data=data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise EnvelopeError(f"ce_{first['loc'][0]}: {first['msg']}") from exc
