"""The audit hash chain, pure: hashing, and every kind of finding verification reports."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from services.audit.chain import (
    GENESIS,
    ChainHead,
    Problem,
    canonical,
    entry_fields,
    entry_id,
    link_hash,
    seal,
    verify,
)

KEY = "test-chain-key"
ORG = "derby-council"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def fields(n: int) -> dict[str, Any]:
    return {
        "organisation": ORG,
        "event_id": f"audit-req-{n}",
        "at": START + timedelta(seconds=n),
        "outcome": "allowed",
        "status": 200,
        "actor_subject": f"user-{n % 3}",
        "actor_roles": ["caseworker"],
        "record_id": f"case-{n % 5}",
        "reason": None,
    }


def chain(count: int, key: str = KEY) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    previous = GENESIS
    for n in range(1, count + 1):
        entry = seal(key, ORG, n, previous, fields(n))
        entries.append(entry)
        previous = entry["hash"]
    return entries


def head_of(entries: list[dict[str, Any]]) -> ChainHead:
    return ChainHead(entries[-1]["sequence"], entries[-1]["hash"])


def test_canonical_form_is_sorted_compact_json_with_utc_milliseconds() -> None:
    moment = datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC)
    assert canonical({"b": [1, None], "a": "é", "at": moment}) == (
        '{"a":"é","at":"2026-03-02T10:00:00.123Z","b":[1,null]}'.encode()
    )
    # Key order and time zone do not change it; a naive time is read as UTC.
    elsewhere = moment.astimezone(timezone(timedelta(hours=5)))
    assert canonical({"at": elsewhere}) == canonical({"at": moment})
    assert canonical({"at": moment.replace(tzinfo=None)}) == canonical({"at": moment})


def test_link_hash_is_an_hmac_over_previous_hash_sequence_and_entry() -> None:
    entry = {"organisation": ORG, "status": 200}
    expected = hmac.new(
        KEY.encode(), f"{GENESIS}\n1\n".encode() + canonical(entry), hashlib.sha256
    ).hexdigest()
    assert link_hash(KEY, GENESIS, 1, entry) == expected
    # Each input moves it.
    assert link_hash(KEY, GENESIS, 2, entry) != expected
    assert link_hash(KEY, "1" * 64, 1, entry) != expected
    assert link_hash("another-key", GENESIS, 1, entry) != expected
    assert link_hash(KEY, GENESIS, 1, {**entry, "status": 403}) != expected


def test_sealed_entry_has_its_place_and_hashes_only_its_fields() -> None:
    entry = seal(KEY, ORG, 7, GENESIS, fields(7))
    assert entry["_id"] == "derby-council:000000000007" == entry_id(ORG, 7)
    assert entry["sequence"] == 7 and entry["previous_hash"] == GENESIS
    assert entry_fields(entry) == fields(7)


def test_an_intact_chain_has_no_finding() -> None:
    entries = chain(10)
    assert verify(entries, KEY) is None
    assert verify(entries, KEY, organisation=ORG, head=head_of(entries)) is None
    assert verify([], KEY) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("actor_subject", "someone-else"), ("outcome", "refused"), ("at", START), ("reason", "x")],
)
def test_an_altered_field_names_that_entry(field: str, value: Any) -> None:
    entries = chain(10)
    entries[4] = {**entries[4], field: value}
    finding = verify(entries, KEY, head=head_of(entries))
    assert finding is not None
    assert (finding.sequence, finding.entry_id, finding.problem) == (
        5,
        "derby-council:000000000005",
        Problem.ALTERED,
    )
    assert "hash does not match" in finding.detail


def test_an_added_or_dropped_field_is_an_alteration() -> None:
    entries = chain(5)
    entries[1] = {**entries[1], "note": "added later"}
    assert verify(entries, KEY).problem is Problem.ALTERED  # type: ignore[union-attr]
    entries = chain(5)
    del entries[2]["reason"]
    finding = verify(entries, KEY)
    assert finding is not None and (finding.sequence, finding.problem) == (3, Problem.ALTERED)


def test_a_forged_hash_without_the_key_is_found() -> None:
    # Someone with write access to the database changes entry 3 and re-hashes it and every
    # entry after it, consistently, but without the key: entry 3 is named.
    entries = chain(6)
    previous = entries[1]["hash"]
    for n in range(3, 7):
        changed = {**fields(n), "outcome": "refused"} if n == 3 else fields(n)
        entries[n - 1] = seal("guessed-key", ORG, n, previous, changed)
        previous = entries[n - 1]["hash"]
    finding = verify(entries, KEY)
    assert finding is not None and (finding.sequence, finding.problem) == (3, Problem.ALTERED)
    # A whole chain made without the key fails at its first entry.
    finding = verify(chain(6, key="guessed-key"), KEY)
    assert finding is not None and (finding.sequence, finding.problem) == (1, Problem.ALTERED)


def test_a_removed_entry_is_named_by_its_place() -> None:
    entries = chain(10)
    del entries[6]
    finding = verify(entries, KEY)
    assert finding is not None
    assert (finding.sequence, finding.entry_id, finding.problem) == (
        7,
        "derby-council:000000000007",
        Problem.REMOVED,
    )
    entries = chain(10)
    del entries[2:5]
    finding = verify(entries, KEY)
    assert finding is not None and (finding.sequence, finding.problem) == (3, Problem.REMOVED)
    assert "entries 3-5" in finding.detail


def test_the_first_entry_removed_is_found() -> None:
    entries = chain(3)[1:]
    finding = verify(entries, KEY, organisation=ORG)
    assert finding is not None
    assert (finding.sequence, finding.entry_id, finding.problem) == (
        1,
        "derby-council:000000000001",
        Problem.REMOVED,
    )


def test_entries_removed_from_the_end_are_found_through_the_head() -> None:
    entries = chain(10)
    head = head_of(entries)
    finding = verify(entries[:8], KEY, head=head)
    assert finding is not None
    assert (finding.sequence, finding.entry_id, finding.problem) == (
        9,
        "derby-council:000000000009",
        Problem.REMOVED,
    )
    # Every entry removed, the head left: entry 1 is missing.
    finding = verify([], KEY, organisation=ORG, head=head)
    assert finding is not None and (finding.sequence, finding.problem) == (1, Problem.REMOVED)
    # Without a head, a shorter chain is intact as far as it goes.
    assert verify(entries[:8], KEY) is None


def test_a_removed_entry_with_the_rest_renumbered_is_found() -> None:
    entries = chain(6)
    del entries[2]
    renumbered = entries[:2] + [
        {**e, "sequence": e["sequence"] - 1, "_id": entry_id(ORG, e["sequence"] - 1)}
        for e in entries[2:]
    ]
    finding = verify(renumbered, KEY)
    assert finding is not None and (finding.sequence, finding.problem) == (3, Problem.ALTERED)


def test_reordered_entries_are_found() -> None:
    entries = chain(6)
    entries[2], entries[3] = entries[3], entries[2]
    finding = verify(entries, KEY)
    assert finding is not None
    assert (finding.sequence, finding.entry_id, finding.problem) == (
        3,
        "derby-council:000000000003",
        Problem.REORDERED,
    )
    assert "after entry 4" in finding.detail
    entries = chain(4)
    entries.append(entries[1])  # an entry repeated later
    finding = verify(entries, KEY)
    assert finding is not None and (finding.sequence, finding.problem) == (2, Problem.REORDERED)


def test_swapped_contents_under_the_same_places_are_alterations() -> None:
    # Keeping each place's _id and sequence but swapping what two entries say.
    entries = chain(6)
    third, fourth = entry_fields(entries[2]), entry_fields(entries[3])
    entries[2] = {**entries[2], **fourth}
    entries[3] = {**entries[3], **third}
    finding = verify(entries, KEY)
    assert finding is not None and (finding.sequence, finding.problem) == (3, Problem.ALTERED)


def test_a_changed_sequence_or_organisation_is_an_alteration() -> None:
    entries = chain(5)
    entries[2] = {**entries[2], "sequence": 9}
    finding = verify(entries, KEY)
    assert finding is not None
    assert (finding.sequence, finding.entry_id, finding.problem) == (
        3,
        "derby-council:000000000003",
        Problem.ALTERED,
    )
    entries = chain(5)
    entries[1] = {**entries[1], "organisation": "leeds-council"}
    finding = verify(entries, KEY)
    assert finding is not None and (finding.sequence, finding.problem) == (2, Problem.ALTERED)


def test_a_genuine_entry_chained_elsewhere_is_found() -> None:
    # Entry 2 replaced by a validly keyed entry 2 of another history (a restored copy):
    # entry 3 no longer follows it.
    entries = chain(4)
    entries[1] = seal(KEY, ORG, 2, entries[0]["hash"], {**fields(2), "status": 404})
    finding = verify(entries, KEY)
    assert finding is not None and (finding.sequence, finding.problem) == (3, Problem.REMOVED)


def test_a_head_that_disagrees_with_its_entry_is_found() -> None:
    entries = chain(4)
    finding = verify(entries, KEY, head=ChainHead(4, "f" * 64))
    assert finding is not None and (finding.sequence, finding.problem) == (4, Problem.ALTERED)
    # A head behind the chain (a crash before it moved) is not a finding.
    assert verify(entries, KEY, head=ChainHead(3, entries[2]["hash"])) is None


def test_an_unhashable_value_is_an_alteration_not_a_crash() -> None:
    entries = chain(3)
    entries[1] = {**entries[1], "status": object()}
    finding = verify(entries, KEY)
    assert finding is not None and (finding.sequence, finding.problem) == (2, Problem.ALTERED)
