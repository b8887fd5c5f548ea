"""Idempotent creating POSTs, one mechanism for every service (installed by `shared.http`).

A client sends `Idempotency-Key: <1-200 visible ASCII characters>` on a creating POST (a
route with `creates` in `shared/policy.py`); the header is optional. The key belongs to
(service, caller's organisation, caller's subject, route, key): another organisation's or
another person's identical key is another key. The first request claims it; a repeat of the
same request (same path, query and body) gets the stored answer again, with
`Idempotent-Replayed: true`; the key with another request is a 409 naming `Idempotency-Key`;
a repeat while the first still runs waits a few seconds for its answer, then is a 409 too.
Only 2xx answers are kept: a refused or failed first attempt gives the key back.

Everything lives in the service's own `idempotency_keys` collection (unique `_id` = hash of
the scope), inside what FerretDB 1.24 offers: no TTL index and no transaction, so the lookup
ignores (and replaces) answers older than the retention, and `purge` deletes them.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pymongo.errors import DuplicateKeyError
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import AccessState, CallerDep, access_of
from shared.ids import stable_id
from shared.logging import get_logger
from shared.mongo import Collection, Document
from shared.problems import field_problem
from shared.redaction import safe_error

log = get_logger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
COLLECTION = "idempotency_keys"
RETENTION = timedelta(hours=24)  # how long an answer is replayed
LEASE = timedelta(minutes=5)  # a claim older than this belongs to a request that died
WAIT_SECONDS = 5.0  # how long a repeat waits for the first attempt's answer
MAX_KEY_LENGTH = 200
KEPT_HEADERS = ("content-type", "location")  # what a replay needs besides status and body
STATE_KEY = "idempotency"  # the claim of this request, in the ASGI scope's state

PARAMETER_DESCRIPTION = (
    "Optional. A retried call with the same key (same path and body) has its effect once and "
    "gets the first answer again, with `Idempotent-Replayed: true`; the same key with another "
    "request is a 409. Keys are the caller's own (per organisation and person) and kept 24 "
    "hours; only successful answers are kept."
)
CONFLICT_DESCRIPTION = (
    "Idempotency-Key already used with another request, or its first request is still running"
)


class Verdict(StrEnum):
    CLAIM = "claim"  # nobody holds the key: this request runs
    TAKE_OVER = "take_over"  # the holder's answer expired or its request died: this one runs
    REPLAY = "replay"  # the same request was answered: answer the same again
    CONFLICT = "conflict"  # the key was used for another request
    IN_PROGRESS = "in_progress"  # the same request is still running


@dataclass(frozen=True)
class KeyScope:
    service: str
    organisation: str
    subject: str
    route: str  # method and route template, e.g. "POST /cases/{case_id}/contacts"
    key: str

    @property
    def id(self) -> str:
        return stable_id(
            "idempotency", self.service, self.organisation, self.subject, self.route, self.key
        )


@dataclass(frozen=True)
class Claim:
    id: str
    token: str  # this attempt's own, so a superseded attempt can neither store nor release


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    headers: dict[str, str]
    record: tuple[str, str] | None  # what the audit entry named: (kind, id)


@dataclass(frozen=True)
class Begun:
    verdict: Verdict
    claim: Claim | None = None
    stored: StoredResponse | None = None


# --- pure rules ----------------------------------------------------------------------------


def key_problem(key: str) -> str | None:
    """Why a key cannot be used, or None."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in key):
        return f"must be 1 to {MAX_KEY_LENGTH} visible ASCII characters"
    return None


def fingerprint(method: str, path: str, query: str, body: bytes, kind: str) -> str:
    """What makes two requests the same request: method, concrete path (so one key cannot
    answer for another case), query and body; a JSON body by content, not spelling."""
    content = body
    if kind == "json" and body:
        try:
            parsed = json.loads(body)
        except ValueError:
            pass
        else:
            content = json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode()
    return stable_id(method.upper(), path, query, content.hex())


def judge(
    stored: Mapping[str, Any] | None,
    request_hash: str,
    now: datetime,
    retention: timedelta = RETENTION,
    lease: timedelta = LEASE,
) -> Verdict:
    """What a request with this key may do, given what the key holds."""
    if stored is None:
        return Verdict.CLAIM
    if stored["created_at"] <= now - retention:
        return Verdict.TAKE_OVER
    running = stored["state"] == "in_progress"
    if running and stored["claimed_at"] <= now - lease:
        return Verdict.TAKE_OVER
    if stored["request_hash"] != request_hash:
        return Verdict.CONFLICT
    return Verdict.IN_PROGRESS if running else Verdict.REPLAY


# --- the store ----------------------------------------------------------------------------


def _utc_now() -> datetime:
    return datetime.now(UTC)


class IdempotencyStore:
    """The keys of one service, in its own database. Real time, not the business clock:
    retention is about the client's retries, not about casework."""

    def __init__(
        self,
        collection: Collection,
        *,
        retention: timedelta = RETENTION,
        lease: timedelta = LEASE,
        wait_seconds: float = WAIT_SECONDS,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.collection = collection
        self.retention = retention
        self.lease = lease
        self.wait_seconds = wait_seconds
        self.now = now

    async def begin(self, scope: KeyScope, request_hash: str) -> Begun:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_seconds
        while True:
            now = self.now()
            claim = Claim(scope.id, uuid.uuid4().hex)
            document: Document = {
                "_id": claim.id,
                "service": scope.service,
                "organisation": scope.organisation,
                "subject": scope.subject,
                "route": scope.route,
                "key": scope.key,
                "request_hash": request_hash,
                "state": "in_progress",
                "token": claim.token,
                "created_at": now,
                "claimed_at": now,
            }
            try:
                await self.collection.insert_one(document)
                return Begun(Verdict.CLAIM, claim)
            except DuplicateKeyError:
                pass
            stored = await self.collection.find_one({"_id": claim.id})
            verdict = judge(stored, request_hash, now, self.retention, self.lease)
            if stored is not None and verdict is Verdict.TAKE_OVER:
                # Conditional on the old holder's token: of two retries taking over, one wins.
                taken = await self.collection.replace_one(
                    {"_id": claim.id, "token": stored["token"]}, document
                )
                if taken.matched_count:
                    return Begun(Verdict.CLAIM, claim)
            elif stored is not None and verdict is not Verdict.IN_PROGRESS:
                return Begun(verdict, stored=_stored_response(stored))
            # Still running (or the key moved under us): wait for the first answer a little.
            if loop.time() >= deadline:
                return Begun(Verdict.IN_PROGRESS)
            await asyncio.sleep(0.05)

    async def complete(
        self,
        claim: Claim,
        status: int,
        body: bytes,
        headers: Mapping[str, str],
        record: tuple[str, str] | None,
    ) -> None:
        await self.collection.update_one(
            {"_id": claim.id, "token": claim.token},
            {
                "$set": {
                    "state": "completed",
                    "status": status,
                    "body": body,
                    "headers": dict(headers),
                    "record": list(record) if record else None,
                    "completed_at": self.now(),
                }
            },
        )

    async def release(self, claim: Claim) -> None:
        await self.collection.delete_one({"_id": claim.id, "token": claim.token})

    async def purge(self) -> int:
        """Forget answers past the retention (the lookup already ignores them)."""
        cutoff = self.now() - self.retention
        result = await self.collection.delete_many({"created_at": {"$lt": cutoff}})
        return result.deleted_count


def _stored_response(stored: Document) -> StoredResponse | None:
    if stored.get("state") != "completed":
        return None
    record = stored.get("record")
    return StoredResponse(
        status=int(stored["status"]),
        body=bytes(stored["body"]),
        headers=dict(stored.get("headers") or {}),
        record=(str(record[0]), str(record[1])) if record else None,
    )


# --- HTTP ---------------------------------------------------------------------------------


class IdempotentAnswer(Exception):
    """Raised by the guard to answer without running the route (a replay or a refusal)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def key_error(
    message: str, code: int, headers: dict[str, str] | None = None, kind: str | None = None
) -> JSONResponse:
    """A problem (shared/problems.py) naming the header."""
    return field_problem(HEADER, message, code, kind=kind, headers=headers)


async def idempotency_guard(request: Request, caller: CallerDep) -> None:
    """A router dependency (after `require_caller`): claims the key of a creating POST, or
    answers at once with the stored answer or a refusal. No-op without the header."""
    key = request.headers.get(HEADER)
    if key is None or request.method != "POST" or not caller.policy.creates:
        return
    problem = key_problem(key)
    if problem is not None:
        raise IdempotentAnswer(key_error(problem, 422))
    store: IdempotencyStore = request.app.state.idempotency
    route = getattr(request.scope.get("route"), "path", request.url.path)
    scope = KeyScope(
        request.app.state.settings.service_name,
        caller.organisation,
        caller.principal.subject,
        f"POST {route}",
        key,
    )
    body, kind = await _request_content(request)
    request_hash = fingerprint(request.method, request.url.path, request.url.query, body, kind)
    begun = await store.begin(scope, request_hash)
    if begun.verdict is Verdict.CLAIM and begun.claim is not None:
        request.state.idempotency = _PendingClaim(store, begun.claim)
        return
    if begun.verdict is Verdict.REPLAY and begun.stored is not None:
        stored = begun.stored
        if stored.record is not None:
            access = access_of(request)  # the replay's audit entry names the same record
            access.record_kind, access.record_id = stored.record
        raise IdempotentAnswer(
            Response(
                stored.body,
                status_code=stored.status,
                headers={**stored.headers, REPLAYED_HEADER: "true"},
            )
        )
    if begun.verdict is Verdict.CONFLICT:
        message = "already used for a different request (another body or path); use a new key"
        raise IdempotentAnswer(key_error(message, 409, kind="idempotency-key-reused"))
    message = "a request with this key is still being handled; retry shortly"
    raise IdempotentAnswer(
        key_error(message, 409, {"Retry-After": "1"}, kind="request-in-progress")
    )


async def _request_content(request: Request) -> tuple[bytes, str]:
    """The body as bytes to fingerprint. A form by its fields and files (a client picks a new
    multipart boundary on every retry, so the raw bytes differ)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        parts: list[Any] = []
        for name, value in (await request.form()).multi_items():
            if isinstance(value, UploadFile):
                data = await value.read()
                await value.seek(0)
                parts.append([name, value.filename, stable_id(data.hex())])
            else:
                parts.append([name, value])
        return json.dumps(parts).encode(), "form"
    body = await request.body()
    json_like = content_type == "application/json" or content_type.endswith("+json")
    return body, "json" if json_like else "raw"


@dataclass(frozen=True)
class _PendingClaim:
    store: IdempotencyStore
    claim: Claim


class IdempotencyMiddleware:
    """Keeps the answer of a request whose key the guard claimed: a 2xx is stored before it
    leaves (so a retry arriving after it finds it), anything else gives the key back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []
        settled = False

        async def hold(message: Message) -> None:
            nonlocal settled
            pending = _pending(scope)
            if pending is None or settled:
                await send(message)
                return
            held.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                settled = True
                await _settle(scope, pending, held)
                for kept in held:
                    await send(kept)

        try:
            await self.app(scope, receive, hold)
        except BaseException:
            pending = _pending(scope)
            if pending is not None and not settled:
                settled = True
                await _give_back(pending)
            raise


def _pending(scope: Scope) -> _PendingClaim | None:
    state = scope.get("state")
    return state.get(STATE_KEY) if isinstance(state, dict) else None


async def _settle(scope: Scope, pending: _PendingClaim, messages: list[Message]) -> None:
    start = messages[0]
    status = int(start["status"])
    if not 200 <= status < 300:
        await _give_back(pending)
        return
    headers = {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in start.get("headers", [])
        if name.decode("latin-1").lower() in KEPT_HEADERS
    }
    body = b"".join(m.get("body", b"") for m in messages[1:])
    access = scope.get("state", {}).get("access")
    record = None
    if isinstance(access, AccessState) and access.record_kind and access.record_id:
        record = (access.record_kind, access.record_id)
    try:
        await pending.store.complete(pending.claim, status, body, headers, record)
    except Exception as exc:
        # The effect happened: answer anyway. The claim stays "in progress" until its lease
        # runs out, so a retry in the meantime is told to wait rather than acting again.
        log.error("idempotency.store_failed", error=safe_error(exc), key_id=pending.claim.id)


async def _give_back(pending: _PendingClaim) -> None:
    try:
        await asyncio.shield(pending.store.release(pending.claim))
    except Exception as exc:  # the lease frees it later
        log.error("idempotency.release_failed", error=safe_error(exc), key_id=pending.claim.id)


# --- OpenAPI ------------------------------------------------------------------------------


def document_creating_routes(schema: dict[str, Any], creates: Callable[[str, str], bool]) -> None:
    """Add the optional header and the 409 to every creating operation of an OpenAPI schema;
    `creates(method, path)` names them. Idempotent, as the schema is cached and reused."""
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or not creates(method.upper(), path):
                continue
            parameters = operation.setdefault("parameters", [])
            if not any(p.get("name") == HEADER and p.get("in") == "header" for p in parameters):
                parameters.append(
                    {
                        "name": HEADER,
                        "in": "header",
                        "required": False,
                        "description": PARAMETER_DESCRIPTION,
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": MAX_KEY_LENGTH,
                            "pattern": "^[ -~]+$",
                        },
                    }
                )
            operation.setdefault("responses", {}).setdefault(
                "409", {"description": CONFLICT_DESCRIPTION}
            )
