"""When only newly arrived cases need looking at, and which claims are a crash's leftovers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.allocation.allocator import CLAIM_GRACE, claim_is_stale, settled
from services.allocation.records import Caseworker, PassState
from shared.ids import stable_id

TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def state(document: dict[str, Any]) -> PassState:
    return PassState.model_validate({"_id": "derby-homes", **document})


def worker(document: dict[str, Any]) -> Caseworker:
    stored = {"_id": "w1", "organisation": "derby-homes", "team_id": "team-a", **document}
    return Caseworker.model_validate(stored)


def test_settled_only_when_no_capacity_was_freed_since_a_full_pass_today() -> None:
    assert not settled(None, TODAY)  # never passed: a full pass first
    assert settled(state({"version": 4, "settled": 4, "settled_on": "2026-03-02"}), TODAY)
    assert not settled(state({"version": 5, "settled": 4, "settled_on": "2026-03-02"}), TODAY)
    # A new day: leave may have ended, so every waiting case is looked at again.
    assert not settled(state({"version": 4, "settled": 4, "settled_on": "2026-03-01"}), TODAY)
    assert settled(state({"version": 0, "settled": 0, "settled_on": "2026-03-02"}), TODAY)


def test_a_claim_is_a_leftover_only_once_older_than_the_grace() -> None:
    key = stable_id("case-1")
    young = worker({"claimed_at": {key: NOW - CLAIM_GRACE + timedelta(seconds=1)}})
    old = worker({"claimed_at": {key: NOW - CLAIM_GRACE}})
    assert not claim_is_stale(young, "case-1", NOW)  # may be a claimant between its writes
    assert claim_is_stale(old, "case-1", NOW)
    assert claim_is_stale(worker({}), "case-1", NOW)  # made before claim times were kept
    naive = worker({"claimed_at": {key: (NOW - timedelta(hours=1)).replace(tzinfo=None)}})
    assert claim_is_stale(naive, "case-1", NOW)  # BSON dates come back naive
