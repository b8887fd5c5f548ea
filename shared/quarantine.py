"""The quarantine: records a consumer gave up on, kept sealed in the failing service's own
database, so that a dead letter on Kafka (a topic nobody can erase) is only a reference.

Each entry seals the whole failed record (value, key, headers, where it was read, why it
failed) with AES-256-GCM under a key derived by HKDF-SHA256 from a secret of
`HEARTH_QUARANTINE_KEYS` (`["<key-id>:<secret>", ...]`, newest first). New entries are sealed
under the newest key; an entry names its key id, so older keys still open it after a rotation.
In clear stays only what names no one, so operators can list and erasure can find entries:
where the record was read (topic, partition, offset, group), the reason (already value-free,
`shared.redaction`), the error type, the event type when it is one of the catalogue's (a
sender may mint a "type" holding a name), the organisation and the subject ids (case, person,
tenancy, referral: pseudonymous ids) when the record decoded as an event.

The record key is kept in clear only when it is one of those subject ids; any other key (an
undecodable record's, a partner's own) is kept as a keyed digest, HMAC-SHA256 under the
newest key, so entries of one key can be grouped but a guessed name cannot be tested offline.

Erasure (`erase_subjects`) finds entries by subject id; an entry without any (the record did
not decode) is reached by retention only (`purge_older_than`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bson import Binary
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.clock import Clock, SystemClock
from shared.dlq import DLQ_HEADER_PREFIX
from shared.events.base import model_for_type
from shared.events.envelope import Envelope
from shared.ids import stable_id
from shared.mongo import Collection, Document
from shared.redaction import safe_reason, scrub_text

SETTING = "HEARTH_QUARANTINE_KEYS"
COLLECTION = "quarantine"
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MIN_SECRET_CHARS = 32
SEAL_INFO = b"hearth quarantine seal v1"
DIGEST_INFO = b"hearth quarantine key digest v1"
# Fields of an event's data that hold the pseudonymous id of whom it is about.
SUBJECT_FIELDS = frozenset(
    {"case_id", "person_id", "tenancy_id", "referral_id", "prevention_case_id"}
)
# An id as Hearth writes them (`new_id`, `tenancy_id`, "prev-dh-1001"): ASCII, no spaces, no @.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
ORGANISATION_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MAX_DEPTH = 3  # how deep in an event's data subject ids are looked for

Publish = Callable[[str, bytes, bytes | None, list[tuple[str, bytes]]], Awaitable[None]]


class QuarantineKeyError(ValueError):
    """The keys are missing, malformed or lack an entry's key id; names the setting, never a
    secret."""


@dataclass(frozen=True)
class QuarantineKeys:
    """The live keys, newest first: (key id, AES-256 key, digest key), both derived by HKDF."""

    keys: tuple[tuple[str, bytes, bytes], ...] = field(repr=False)

    @classmethod
    def parse(cls, entries: Sequence[str]) -> QuarantineKeys:
        """`["<key id>:<secret>", ...]`, newest first. Refuses an empty list, a short secret or
        a repeated id, naming the setting and the entry's position, never its text."""
        if not entries:
            raise QuarantineKeyError(f'{SETTING}: required (a JSON list of "<key-id>:<secret>")')
        keys: list[tuple[str, bytes, bytes]] = []
        for position, entry in enumerate(entries):
            kid, sep, secret = entry.partition(":")
            where = f"{SETTING}[{position}]"
            if not sep or not KEY_ID_PATTERN.match(kid):
                raise QuarantineKeyError(f'{where}: expected "<key-id>:<secret>", id [A-Za-z0-9_-]')
            if len(secret) < MIN_SECRET_CHARS:
                raise QuarantineKeyError(
                    f"{where}: secret shorter than {MIN_SECRET_CHARS} characters"
                )
            if any(kid == known for known, _, _ in keys):
                raise QuarantineKeyError(f"{where}: key id {kid!r} repeated")
            keys.append((kid, _derive(secret, SEAL_INFO), _derive(secret, DIGEST_INFO)))
        return cls(tuple(keys))

    @property
    def newest_id(self) -> str:
        return self.keys[0][0]

    def seal_key(self, kid: str) -> bytes:
        for known, seal, _ in self.keys:
            if known == kid:
                return seal
        raise QuarantineKeyError(f"{SETTING}: no key {kid!r} (the entry was sealed under it)")

    def digest(self, value: bytes) -> str:
        """A keyed digest under the newest key: `<key id>:<hex>`."""
        kid, _, digest_key = self.keys[0]
        return f"{kid}:{hmac.new(digest_key, value, hashlib.sha256).hexdigest()[:32]}"


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


def _aad(entry_id: str, kid: str) -> bytes:
    # Binds a sealed payload to its entry: it cannot be moved to another entry and opened.
    return f"{entry_id}\x1f{kid}".encode()


def seal(keys: QuarantineKeys, entry_id: str, payload: Mapping[str, Any]) -> Document:
    kid = keys.newest_id
    nonce = os.urandom(12)
    plain = json.dumps(payload, separators=(",", ":")).encode()
    sealed = AESGCM(keys.seal_key(kid)).encrypt(nonce, plain, _aad(entry_id, kid))
    return {"kid": kid, "nonce": Binary(nonce), "data": Binary(sealed)}


def unseal(keys: QuarantineKeys, entry_id: str, sealed: Mapping[str, Any]) -> dict[str, Any]:
    kid = str(sealed["kid"])
    try:
        plain = AESGCM(keys.seal_key(kid)).decrypt(
            bytes(sealed["nonce"]), bytes(sealed["data"]), _aad(entry_id, kid)
        )
    except InvalidTag as exc:
        raise QuarantineKeyError(f"{SETTING}: key {kid!r} does not open entry {entry_id}") from exc
    opened: dict[str, Any] = json.loads(plain)
    return opened


def _b64(value: bytes | None) -> str | None:
    return None if value is None else base64.b64encode(value).decode()


def _unb64(value: str | None) -> bytes | None:
    return None if value is None else base64.b64decode(value)


def _as_id(value: Any) -> str | None:
    """The value when it has the shape of a Hearth id and nothing personal-looking in it."""
    if isinstance(value, str) and ID_PATTERN.match(value) and scrub_text(value) == value:
        return value
    return None


def subject_ids(envelope: Envelope) -> list[str]:
    """The pseudonymous ids an event is about: its subject, partition key and the subject
    fields of its data (nested too, as a poison event may nest them)."""
    found: list[str] = []

    def visit(data: Any, depth: int) -> None:
        if depth > MAX_DEPTH or not isinstance(data, Mapping):
            return
        for name, value in data.items():
            if name in SUBJECT_FIELDS and (known := _as_id(value)):
                found.append(known)
            elif isinstance(value, Mapping):
                visit(value, depth + 1)

    for candidate in (envelope.subject, envelope.partitionkey):
        if known := _as_id(candidate):
            found.append(known)
    visit(envelope.data, 0)
    return sorted(set(found))


@dataclass(frozen=True)
class HeldRecord:
    """What a dead-letter reference may say about a quarantined record."""

    id: str
    topic: str
    partition: int
    offset: int
    group: str
    reason: str
    error_type: str


@dataclass(frozen=True)
class OpenedRecord:
    """A quarantined record opened with the key: the original record as it was read."""

    id: str
    topic: str
    partition: int
    offset: int
    group: str
    value: bytes | None
    key: bytes | None
    headers: list[tuple[str, bytes]]
    reason: str
    error_type: str
    attempts: int
    at: str

    def replay_headers(self) -> list[tuple[str, bytes]]:
        return [(n, v) for n, v in self.headers if not n.startswith(DLQ_HEADER_PREFIX)]

    def as_json(self) -> dict[str, Any]:
        """For an operator's eyes: the value as JSON or text when it is, base64 otherwise."""
        shown: dict[str, Any] = {
            "id": self.id,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "group": self.group,
            "reason": self.reason,
            "error_type": self.error_type,
            "attempts": self.attempts,
            "at": self.at,
            "key": _text_or_b64(self.key),
            "headers": {name: _text_or_b64(value) for name, value in self.headers},
        }
        try:
            shown["value"] = json.loads(self.value) if self.value else None
        except (ValueError, UnicodeDecodeError):
            shown["value_base64"] = _b64(self.value)
        return shown


def _text_or_b64(value: bytes | None) -> str | None:
    if value is None:
        return None
    try:
        return value.decode()
    except UnicodeDecodeError:
        return f"base64:{_b64(value)}"


def _header_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


class Quarantine:
    """The service's quarantine collection. `hold` seals a failed record (before its dead
    letter is published); operators `open` and `replay` entries; erasure and retention delete
    them."""

    def __init__(
        self,
        collection: Collection,
        service: str,
        key_entries: Sequence[str],
        clock: Clock | None = None,
    ) -> None:
        self.collection = collection
        self.service = service
        self.clock: Clock = clock or SystemClock()
        self._key_entries = list(key_entries)
        self._keys: QuarantineKeys | None = None

    async def start(self) -> None:
        """A startup hook: no key is a startup error naming the setting, never a dead letter
        that cannot be sealed. At start, not at build, so contracts are made without a secret."""
        self._keys = QuarantineKeys.parse(self._key_entries)
        await self.collection.create_index([("subject_ids", ASCENDING)])
        await self.collection.create_index([("at", ASCENDING)])

    @property
    def keys(self) -> QuarantineKeys:
        if self._keys is None:
            self._keys = QuarantineKeys.parse(self._key_entries)
        return self._keys

    async def hold(
        self,
        record: Any,
        group: str,
        error: BaseException,
        attempts: int,
        envelope: Envelope | None = None,
    ) -> HeldRecord:
        """Seal the record into the quarantine; returns once the database holds it. Holding
        the same record again (its batch re-read after a failed dead-letter publish) keeps the
        one entry: the id derives from where and when the record was written."""
        entry_id = stable_id(
            group,
            record.topic,
            str(record.partition),
            str(record.offset),
            str(getattr(record, "timestamp", "")),
        )
        held = HeldRecord(
            id=entry_id,
            topic=record.topic,
            partition=int(record.partition),
            offset=int(record.offset),
            group=group,
            reason=safe_reason(error)[:2000],
            error_type=type(error).__name__,
        )
        at = self.clock.now()
        headers = [(name, _header_bytes(value)) for name, value in (record.headers or [])]
        payload = {
            "value": _b64(record.value),
            "key": _b64(record.key),
            "headers": [[name, _b64(value)] for name, value in headers],
            "topic": held.topic,
            "partition": held.partition,
            "offset": held.offset,
            "group": group,
            "reason": held.reason,
            "error_type": held.error_type,
            "attempts": attempts,
            "at": at.isoformat(),
        }
        subjects = subject_ids(envelope) if envelope is not None else []
        key_text = record.key.decode(errors="replace") if record.key is not None else None
        key_in_clear = key_text if key_text in subjects else None
        known_type = envelope is not None and model_for_type(envelope.type) is not None
        organisation = envelope.organisation if envelope is not None else None
        document: Document = {
            "_id": entry_id,
            "service": self.service,
            "group": group,
            "topic": held.topic,
            "partition": held.partition,
            "offset": held.offset,
            "key": key_in_clear,
            "key_digest": None
            if key_in_clear is not None or record.key is None
            else self.keys.digest(record.key),
            "event_type": envelope.type if envelope is not None and known_type else None,
            "organisation": organisation
            if organisation and ORGANISATION_PATTERN.match(organisation)
            else None,
            "subject_ids": subjects,
            "reason": held.reason,
            "error_type": held.error_type,
            "attempts": attempts,
            "at": at,
            "sealed": seal(self.keys, entry_id, payload),
            "replayed_at": None,
            "replays": 0,
        }
        try:
            await self.collection.insert_one(document)
        except DuplicateKeyError:
            pass  # held already, by the first reading of this batch
        return held

    # --- operators ------------------------------------------------------------------------

    async def entries(self, include_replayed: bool = True, limit: int = 200) -> list[Document]:
        """The entries in clear (nothing sealed), oldest first."""
        query: Document = {} if include_replayed else {"replayed_at": None}
        cursor = self.collection.find(query, {"sealed": 0}).sort("at", ASCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def open(self, entry_id: str) -> OpenedRecord:
        """The original record, opened with the key (holding the key is the authorisation)."""
        document = await self.collection.find_one({"_id": entry_id})
        if document is None:
            raise KeyError(f"quarantine_id: no entry {entry_id!r}")
        payload = unseal(self.keys, entry_id, document["sealed"])
        return OpenedRecord(
            id=entry_id,
            topic=payload["topic"],
            partition=payload["partition"],
            offset=payload["offset"],
            group=payload["group"],
            value=_unb64(payload["value"]),
            key=_unb64(payload["key"]),
            headers=[(name, _unb64(value) or b"") for name, value in payload["headers"]],
            reason=payload["reason"],
            error_type=payload["error_type"],
            attempts=payload["attempts"],
            at=payload["at"],
        )

    async def replay(
        self,
        publish: Publish,
        entry_ids: Iterable[str] | None = None,
        again: bool = False,
        delete_after: bool = False,
    ) -> dict[str, str]:
        """Re-publish entries' original records to their original topics (all not yet
        replayed when `entry_ids` is None); returns what happened to each id.

        Published first, then marked: a crash between the two replays the record again on
        the next run, which idempotent consumers (the inbox of event ids) absorb; marking
        first could lose it. An entry replayed before is skipped unless `again`."""
        if entry_ids is None:
            query: Document = {} if again else {"replayed_at": None}
            cursor = self.collection.find(query, {"_id": 1}).sort("at", ASCENDING)
            entry_ids = [doc["_id"] async for doc in cursor]
        outcome: dict[str, str] = {}
        for entry_id in entry_ids:
            document = await self.collection.find_one({"_id": entry_id}, {"replayed_at": 1})
            if document is None:
                outcome[entry_id] = "not found"
                continue
            if document.get("replayed_at") is not None and not again:
                outcome[entry_id] = "already replayed (use --again)"
                continue
            opened = await self.open(entry_id)
            await publish(opened.topic, opened.value or b"", opened.key, opened.replay_headers())
            if delete_after:
                await self.collection.delete_one({"_id": entry_id})
                outcome[entry_id] = f"replayed to {opened.topic}, deleted"
                continue
            await self.collection.update_one(
                {"_id": entry_id},
                {"$set": {"replayed_at": self.clock.now()}, "$inc": {"replays": 1}},
            )
            outcome[entry_id] = f"replayed to {opened.topic}"
        return outcome

    # --- erasure and retention ------------------------------------------------------------

    async def erase_subjects(self, organisation: str | None, subject_ids: Iterable[str]) -> int:
        """Delete the entries about any of these subjects (of this organisation, or of none
        known, when one is given); returns how many."""
        ids = sorted({str(s) for s in subject_ids})
        if not ids:
            return 0
        query: Document = {"subject_ids": {"$in": ids}}
        if organisation is not None:
            query["organisation"] = {"$in": [organisation, None]}
        result = await self.collection.delete_many(query)
        return int(result.deleted_count)

    async def purge_older_than(self, cutoff: datetime) -> int:
        """Retention: delete the entries quarantined before `cutoff`; returns how many."""
        result = await self.collection.delete_many({"at": {"$lt": cutoff}})
        return int(result.deleted_count)
