"""Server-side sessions: the browser holds only a random id; everything else (the user's
tokens, who they are, the CSRF token) stays here, in the web app's own database.

The id is stored only as its SHA-256, so reading the collection gives no cookie to replay,
and the tokens are sealed (AES-GCM, `HEARTH_WEB_SESSION_KEY`) so it gives no token either.
A session ends after `web_idle_minutes` without a request or `web_session_hours` in all;
FerretDB has no TTL indexes, so lookups check both and a sweep deletes the expired.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.mongo import Collection

COOKIE_BYTES = 32


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass
class Tokens:
    access: str
    refresh: str
    id_token: str
    access_expires_at: float  # wall-clock seconds


@dataclass
class User:
    """Who is signed in, as the identity provider's access token says (verified)."""

    subject: str
    username: str
    name: str
    organisation: str
    roles: frozenset[str]
    teams: frozenset[str] = frozenset()
    caseworker_id: str | None = None

    def as_document(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "username": self.username,
            "name": self.name,
            "organisation": self.organisation,
            "roles": sorted(self.roles),
            "teams": sorted(self.teams),
            "caseworker_id": self.caseworker_id,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> User:
        return cls(
            subject=doc["subject"],
            username=doc["username"],
            name=doc.get("name") or doc["username"],
            organisation=doc["organisation"],
            roles=frozenset(doc.get("roles", [])),
            teams=frozenset(doc.get("teams", [])),
            caseworker_id=doc.get("caseworker_id"),
        )


@dataclass
class Session:
    id: str  # the cookie's value; never stored
    user: User
    tokens: Tokens
    csrf: str
    started_at: datetime
    flash: list[str] = field(default_factory=list)


class TokenSeal:
    """AES-256-GCM over the token set, the session's digest as associated data (a sealed
    blob moved to another session does not open)."""

    def __init__(self, key: str) -> None:
        if len(key) < 32:
            raise ValueError("HEARTH_WEB_SESSION_KEY: at least 32 characters")
        self._aead = AESGCM(hashlib.sha256(key.encode()).digest())

    def seal(self, tokens: Tokens, digest: str) -> str:
        nonce = secrets.token_bytes(12)
        plain = json.dumps(tokens.__dict__).encode()
        return base64.b64encode(nonce + self._aead.encrypt(nonce, plain, digest.encode())).decode()

    def open(self, blob: str, digest: str) -> Tokens:
        raw = base64.b64decode(blob)
        plain = self._aead.decrypt(raw[:12], raw[12:], digest.encode())
        return Tokens(**json.loads(plain))


class SessionStore:
    def __init__(
        self, sessions: Collection, seal: TokenSeal, idle: timedelta, lifetime: timedelta
    ) -> None:
        self.sessions = sessions
        self.seal = seal
        self.idle = idle
        self.lifetime = lifetime

    async def start(self, user: User, tokens: Tokens, now: datetime) -> Session:
        """A new session with a new id: never one the browser brought (session fixation)."""
        session_id = secrets.token_urlsafe(COOKIE_BYTES)
        digest = _digest(session_id)
        csrf = secrets.token_urlsafe(32)
        await self.sessions.insert_one(
            {
                "_id": digest,
                "user": user.as_document(),
                "tokens": self.seal.seal(tokens, digest),
                "csrf": csrf,
                "started_at": now,
                "seen_at": now,
                "flash": [],
            }
        )
        return Session(session_id, user, tokens, csrf, now)

    async def find(self, session_id: str, now: datetime) -> Session | None:
        """The live session with this id, its idle clock restarted; None if ended or expired."""
        if not session_id or len(session_id) > 100:
            return None
        digest = _digest(session_id)
        # One round trip on every page: restart the idle clock and take the confirmations,
        # reading the document as it was before (an expired one is then deleted).
        doc = await self.sessions.find_one_and_update(
            {"_id": digest}, {"$set": {"seen_at": now, "flash": []}}
        )
        if doc is None:
            return None
        if now - doc["seen_at"] > self.idle or now - doc["started_at"] > self.lifetime:
            await self.sessions.delete_one({"_id": digest})
            return None
        flash = list(doc.get("flash") or [])
        return Session(
            session_id,
            User.from_document(doc["user"]),
            self.seal.open(doc["tokens"], digest),
            doc["csrf"],
            doc["started_at"],
            flash,
        )

    async def save_tokens(self, session: Session, tokens: Tokens) -> None:
        session.tokens = tokens
        digest = _digest(session.id)
        await self.sessions.update_one(
            {"_id": digest}, {"$set": {"tokens": self.seal.seal(tokens, digest)}}
        )

    async def add_flash(self, session: Session, message: str) -> None:
        """A one-off confirmation for the next page (the GOV.UK notification banner)."""
        await self.sessions.update_one({"_id": _digest(session.id)}, {"$push": {"flash": message}})

    async def end(self, session_id: str) -> None:
        await self.sessions.delete_one({"_id": _digest(session_id)})

    async def sweep(self, now: datetime) -> int:
        result = await self.sessions.delete_many(
            {
                "$or": [
                    {"seen_at": {"$lt": now - self.idle}},
                    {"started_at": {"$lt": now - self.lifetime}},
                ]
            }
        )
        return result.deleted_count


class SignIns:
    """Sign-ins under way: state -> PKCE verifier, nonce and where to return. Each is used
    once (deleted as it is read) and lives ten minutes."""

    LIFETIME = timedelta(minutes=10)

    def __init__(self, collection: Collection) -> None:
        self.collection = collection

    async def begin(
        self, state: str, verifier: str, nonce: str, return_to: str, now: datetime
    ) -> None:
        await self.collection.insert_one(
            {"_id": state, "verifier": verifier, "nonce": nonce, "return_to": return_to, "at": now}
        )

    async def finish(self, state: str, now: datetime) -> dict[str, Any] | None:
        doc = await self.collection.find_one_and_delete({"_id": state})
        if doc is None or now - doc["at"] > self.LIFETIME:
            return None
        return doc

    async def sweep(self, now: datetime) -> None:
        await self.collection.delete_many({"at": {"$lt": now - self.LIFETIME}})
