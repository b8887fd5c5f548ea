"""The audit hash chain: pure rules, no I/O.

Each organisation's entries form one chain. Entry n carries `hash` = HMAC-SHA256(key,
previous_hash + n + canonical entry), where `previous_hash` is entry n-1's hash (GENESIS for
entry 1). The hash is keyed so that write access to the database alone cannot recompute a
consistent chain after changing an entry: only the holder of HEARTH_AUDIT_CHAIN_KEY can.

An entry as stored is its fields (the audit event's data, its organisation and event id) plus
the chain fields below. Everything that is not a chain field is hashed, so adding a field to
a stored entry is detected as well as changing or dropping one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

GENESIS = "0" * 64
"""The previous hash of every chain's first entry."""

CHAIN_FIELDS = frozenset({"_id", "sequence", "previous_hash", "hash"})
"""Fields of a stored entry that place it in its chain; every other field is hashed."""


class Problem(StrEnum):
    ALTERED = "altered"
    REMOVED = "removed"
    REORDERED = "reordered"


@dataclass(frozen=True)
class Finding:
    """The first thing wrong with a chain: which entry, and what."""

    sequence: int
    entry_id: str
    problem: Problem
    detail: str

    def __str__(self) -> str:
        return f"entry {self.sequence} ({self.entry_id}) {self.problem.value}: {self.detail}"


@dataclass(frozen=True)
class ChainHead:
    """The last entry of a chain as the store recorded it."""

    sequence: int
    hash: str


def entry_id(organisation: str, sequence: int) -> str:
    # Zero-padded so ids sort in chain order; unique, so one entry per sequence number.
    return f"{organisation}:{sequence:012d}"


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # The database keeps milliseconds; naive values are UTC (a client without tz_aware).
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    raise TypeError(f"{type(value).__name__} has no canonical form")


def canonical(entry: Mapping[str, Any]) -> bytes:
    """The entry's canonical form: sorted-key compact JSON, times in UTC to the millisecond."""
    return json.dumps(
        entry,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_value,
    ).encode("utf-8")


def _key_bytes(key: str | bytes) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else key


def link_hash(key: str | bytes, previous_hash: str, sequence: int, entry: Mapping[str, Any]) -> str:
    """HMAC-SHA256 (hex) binding an entry to its place: the previous hash and its sequence."""
    message = f"{previous_hash}\n{sequence}\n".encode() + canonical(entry)
    return hmac.new(_key_bytes(key), message, hashlib.sha256).hexdigest()


def entry_fields(document: Mapping[str, Any]) -> dict[str, Any]:
    """The hashed part of a stored entry."""
    return {name: value for name, value in document.items() if name not in CHAIN_FIELDS}


def seal(
    key: str | bytes,
    organisation: str,
    sequence: int,
    previous_hash: str,
    fields: Mapping[str, Any],
) -> dict[str, Any]:
    """The stored document of the entry at `sequence`, chained to `previous_hash`."""
    return {
        **fields,
        "_id": entry_id(organisation, sequence),
        "sequence": sequence,
        "previous_hash": previous_hash,
        "hash": link_hash(key, previous_hash, sequence, fields),
    }


def _sequence_in_id(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    tail = value.rpartition(":")[2]
    return int(tail) if tail.isdigit() else None


class ChainVerifier:
    """Checks one organisation's entries, fed in sequence order, and stops at the first
    finding. Incremental, so the store can stream a long chain through it."""

    def __init__(self, key: str | bytes, organisation: str | None = None) -> None:
        self.key = _key_bytes(key)
        self.organisation = organisation
        self.last_sequence = 0
        self.last_hash = GENESIS
        self.checked = 0

    def _id(self, sequence: int) -> str:
        return entry_id(self.organisation or "?", sequence)

    def check(
        self,
        entry: Mapping[str, Any],
        head: ChainHead | None = None,
        present: Container[int] = (),
    ) -> Finding | None:
        """The finding at this entry, or None when it follows on from the last one.
        `present`: sequence numbers known to be in the chain further on, which tells an entry
        out of order from a missing one."""
        expected = self.last_sequence + 1
        sequence = entry.get("sequence")
        stored_id = entry.get("_id")
        if not isinstance(sequence, int) or isinstance(sequence, bool):
            at = _sequence_in_id(stored_id) or expected
            return Finding(at, str(stored_id), Problem.ALTERED, "its sequence number was changed")
        if self.organisation is None:
            self.organisation = entry.get("organisation")
        organisation = entry.get("organisation")
        if organisation != self.organisation or stored_id != entry_id(str(organisation), sequence):
            # _id cannot be updated in place: a mismatch means the fields were edited.
            at = _sequence_in_id(stored_id) or sequence
            return Finding(
                at,
                str(stored_id),
                Problem.ALTERED,
                f"its organisation or sequence was changed (says {organisation!r}, {sequence})",
            )
        if sequence < expected:
            return Finding(
                sequence,
                str(stored_id),
                Problem.REORDERED,
                f"it comes after entry {self.last_sequence}",
            )
        if sequence > expected:
            if expected in present:
                return Finding(
                    expected,
                    self._id(expected),
                    Problem.REORDERED,
                    f"it comes after entry {sequence}",
                )
            missing = (
                f"entries {expected}-{sequence - 1} are" if sequence - expected > 1 else "it is"
            )
            return Finding(
                expected,
                self._id(expected),
                Problem.REMOVED,
                f"{missing} missing from the chain (entry {sequence} follows entry {expected - 1})",
            )
        try:
            recomputed = link_hash(
                self.key, str(entry.get("previous_hash")), sequence, entry_fields(entry)
            )
        except (TypeError, ValueError) as exc:
            return Finding(sequence, str(stored_id), Problem.ALTERED, f"a field was changed: {exc}")
        if not hmac.compare_digest(recomputed, str(entry.get("hash"))):
            return Finding(
                sequence,
                str(stored_id),
                Problem.ALTERED,
                "its hash does not match its contents (changed, or re-hashed without the key)",
            )
        if entry["previous_hash"] != self.last_hash:
            # A genuine entry whose predecessor is not the one it was chained to.
            return Finding(
                sequence,
                str(stored_id),
                Problem.REMOVED,
                f"it was chained to an entry {expected - 1} that is no longer in the chain",
            )
        if head is not None and sequence == head.sequence and entry["hash"] != head.hash:
            return Finding(
                sequence,
                str(stored_id),
                Problem.ALTERED,
                "the chain head recorded a different hash for it",
            )
        self.last_sequence = sequence
        self.last_hash = str(entry["hash"])
        self.checked += 1
        return None

    def end(self, head: ChainHead | None = None) -> Finding | None:
        """After the last entry: a chain shorter than its recorded head lost its tail."""
        if head is not None and self.last_sequence < head.sequence:
            first = self.last_sequence + 1
            return Finding(
                first,
                self._id(first),
                Problem.REMOVED,
                f"the chain ends at entry {self.last_sequence} but its head is at "
                f"entry {head.sequence}",
            )
        return None


def verify(
    entries: Iterable[Mapping[str, Any]],
    key: str | bytes,
    *,
    organisation: str | None = None,
    head: ChainHead | None = None,
) -> Finding | None:
    """The first entry of one organisation's chain that was altered, removed or reordered,
    or None when the chain is intact. `entries` in the order they are stored (by sequence);
    `head`, when given, also catches entries removed from the end."""
    ordered = list(entries)
    present = {e["sequence"] for e in ordered if isinstance(e.get("sequence"), int)}
    verifier = ChainVerifier(key, organisation)
    for entry in ordered:
        finding = verifier.check(entry, head, present)
        if finding is not None:
            return finding
    return verifier.end(head)
