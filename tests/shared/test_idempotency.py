"""Idempotent creating POSTs (shared/idempotency.py): the pure rules, the key store on the real
database, and every creating route of every service documenting the header."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.idempotency import (
    HEADER,
    IdempotencyStore,
    KeyScope,
    Verdict,
    fingerprint,
    judge,
    key_problem,
)
from shared.policy import ROUTES
from shared.settings import HearthSettings
from tests.access.services import SERVICES, create, routes

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SCOPE = KeyScope("support", "derby-homes", "user-1", "POST /cases/{case_id}/contacts", "k-1")


# --- pure rules ---------------------------------------------------------------------------


def test_a_key_belongs_to_its_organisation_caller_route_and_service() -> None:
    same = KeyScope("support", "derby-homes", "user-1", "POST /cases/{case_id}/contacts", "k-1")
    assert same.id == SCOPE.id
    others = [
        KeyScope("support", "leeds-council", "user-1", SCOPE.route, "k-1"),
        KeyScope("support", "derby-homes", "user-2", SCOPE.route, "k-1"),
        KeyScope("support", "derby-homes", "user-1", "POST /cases/{case_id}/files", "k-1"),
        KeyScope("reconnection", "derby-homes", "user-1", SCOPE.route, "k-1"),
        KeyScope("support", "derby-homes", "user-1", SCOPE.route, "k-2"),
    ]
    assert len({s.id for s in others} | {SCOPE.id}) == len(others) + 1


@pytest.mark.parametrize(
    ("key", "ok"),
    [("outreach-form-77", True), ("a" * 200, True), ("", False), ("a" * 201, False),
     ("tab\there", False), ("naïve", False)],
)  # fmt: skip
def test_a_key_is_1_to_200_visible_ascii_characters(key: str, ok: bool) -> None:
    assert (key_problem(key) is None) is ok


def test_the_fingerprint_is_the_request_not_its_spelling() -> None:
    one = fingerprint("POST", "/v1/cases/c1/contacts", "", b'{"a": 1, "b": [1, 2]}', "json")
    same = fingerprint("POST", "/v1/cases/c1/contacts", "", b'{"b":[1,2],"a":1}', "json")
    assert one == same
    assert one != fingerprint("POST", "/v1/cases/c1/contacts", "", b'{"a": 2, "b": [1, 2]}', "json")
    assert one != fingerprint("POST", "/v1/cases/c2/contacts", "", b'{"a": 1, "b": [1, 2]}', "json")
    assert one != fingerprint("POST", "/v1/cases/c1/contacts", "x=1", b'{"a":1,"b":[1,2]}', "json")
    # Not JSON after all: the bytes as they came.
    assert fingerprint("POST", "/p", "", b"{nope", "json") == fingerprint(
        "POST", "/p", "", b"{nope", "raw"
    )


def _stored(state: str, request_hash: str = "h1", age: timedelta = timedelta()) -> dict:
    return {"state": state, "request_hash": request_hash, "created_at": T0 - age,
            "claimed_at": T0 - age}  # fmt: skip


@pytest.mark.parametrize(
    ("stored", "verdict"),
    [
        (None, Verdict.CLAIM),
        (_stored("completed"), Verdict.REPLAY),
        (_stored("completed", "h2"), Verdict.CONFLICT),
        (_stored("in_progress"), Verdict.IN_PROGRESS),
        (_stored("in_progress", "h2"), Verdict.CONFLICT),
        # A first attempt that died mid-way (its lease ran out) is taken over, whatever its body.
        (_stored("in_progress", "h2", timedelta(minutes=6)), Verdict.TAKE_OVER),
        # Past the retention the key is free again.
        (_stored("completed", "h2", timedelta(hours=25)), Verdict.TAKE_OVER),
        (_stored("completed", "h1", timedelta(hours=23)), Verdict.REPLAY),
    ],
)
def test_judge(stored: dict | None, verdict: Verdict) -> None:
    assert judge(stored, "h1", T0, timedelta(hours=24), timedelta(minutes=5)) is verdict


@pytest.mark.parametrize("service", SERVICES)
def test_every_creating_post_documents_the_idempotency_key(service: str) -> None:
    app = create(service, HearthSettings(service_name=service))
    schema = app.openapi()
    creating = {r for r, policy in ROUTES[service].items() if policy.creates}
    assert all(method == "POST" for method, _ in creating)
    for method, path in routes(app):
        operation = schema["paths"][f"/v1{path}"][method.lower()]
        headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        if (method, path) in creating:
            assert headers.count(HEADER) == 1, (method, path)
            assert "409" in operation["responses"], (method, path)
        else:
            assert HEADER not in headers, (method, path)
    if service not in ("audit", "outcomes"):  # read-only: the trail, the figures
        assert creating, f"{service} has no creating route"


# --- the store, on the real database -------------------------------------------------------


class Now:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at


@pytest.mark.integration
async def test_claim_complete_replay_conflict_release_and_expiry(scratch_db) -> None:
    now = Now()
    store = IdempotencyStore(scratch_db["idempotency_keys"], now=now, wait_seconds=0.2)

    first = await store.begin(SCOPE, "h1")
    assert first.verdict is Verdict.CLAIM and first.claim is not None
    # While it runs: the same request waits, then hears it is in progress; another body is
    # refused at once.
    assert (await store.begin(SCOPE, "h1")).verdict is Verdict.IN_PROGRESS
    assert (await store.begin(SCOPE, "h2")).verdict is Verdict.CONFLICT

    await store.complete(
        first.claim, 201, b'{"contact_id":"c-1"}', {"content-type": "application/json"},
        ("case", "case-1"),
    )  # fmt: skip
    again = await store.begin(SCOPE, "h1")
    assert again.verdict is Verdict.REPLAY and again.stored is not None
    assert again.stored.status == 201 and again.stored.body == b'{"contact_id":"c-1"}'
    assert again.stored.headers == {"content-type": "application/json"}
    assert again.stored.record == ("case", "case-1")
    assert (await store.begin(SCOPE, "h2")).verdict is Verdict.CONFLICT

    # Another organisation's identical key is another key.
    leeds = KeyScope("support", "leeds-council", "user-1", SCOPE.route, SCOPE.key)
    assert (await store.begin(leeds, "h2")).verdict is Verdict.CLAIM

    # A failed attempt gives the key back; a late finish of a superseded claim changes nothing.
    other = KeyScope("support", "derby-homes", "user-1", SCOPE.route, "k-failed")
    failed = await store.begin(other, "h1")
    assert failed.claim is not None
    await store.release(failed.claim)
    retry = await store.begin(other, "h3")
    assert retry.verdict is Verdict.CLAIM and retry.claim is not None
    await store.complete(failed.claim, 201, b"stale", {}, None)
    await store.complete(retry.claim, 201, b"fresh", {}, None)
    replay = await store.begin(other, "h3")
    assert replay.stored is not None and replay.stored.body == b"fresh"

    # A claim whose request died is taken over once its lease is out.
    dead = KeyScope("support", "derby-homes", "user-1", SCOPE.route, "k-dead")
    assert (await store.begin(dead, "h1")).verdict is Verdict.CLAIM
    now.at = T0 + timedelta(minutes=6)
    assert (await store.begin(dead, "h1")).verdict is Verdict.CLAIM

    # Past the retention a stored answer is ignored (and replaced), and purged.
    now.at = T0 + timedelta(hours=25)
    assert (await store.begin(SCOPE, "h2")).verdict is Verdict.CLAIM
    assert await store.purge() >= 2  # leeds and k-failed; SCOPE was claimed afresh
    assert await scratch_db["idempotency_keys"].find_one({"_id": SCOPE.id}) is not None
    assert await scratch_db["idempotency_keys"].find_one({"_id": leeds.id}) is None
