"""Who is calling: an OAuth 2.0 bearer token, verified here against the identity provider's own
keys. Any OpenID Connect provider will do (Keycloak locally, Entra ID, ...): the issuer, the
audience and the names of the claims are settings.

A token is accepted only when its signature verifies with a key the provider publishes, with
an algorithm we pinned (never `none`, never one the token chooses for itself), and its issuer,
audience, expiry and not-before all hold. Organisation and roles come from the token's
claims, never from the request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from jwt import PyJWK

from shared.logging import get_logger
from shared.settings import HearthSettings

log = get_logger(__name__)


class TokenRejected(Exception):
    """The token cannot be trusted; the message says why, for the caller and the audit."""


@dataclass(frozen=True)
class Principal:
    """A verified caller: a person signed in, or a machine client of an organisation."""

    subject: str
    organisation: str
    roles: frozenset[str]
    username: str = ""
    teams: frozenset[str] = frozenset()
    caseworker_id: str | None = None
    client_id: str | None = None
    token_id: str | None = None

    @property
    def display(self) -> str:
        return self.username or self.subject


@dataclass
class _CachedKeys:
    keys: dict[str, PyJWK] = field(default_factory=dict)
    fetched_at: float = float("-inf")


class ProviderKeys:
    """The provider's signing keys (JWKS), cached. An unknown `kid` means the provider rotated
    its keys: fetch again, but at most once per `min_refresh_seconds`, so a flood of tokens
    with made-up key ids cannot turn into a flood of requests to the provider."""

    def __init__(
        self,
        settings: HearthSettings,
        http: httpx.AsyncClient,
        now: Callable[[], float] = time.monotonic,
        min_refresh_seconds: float = 10.0,
        max_age_seconds: float = 3600.0,
    ) -> None:
        self.settings = settings
        self.http = http
        self.now = now
        self.min_refresh_seconds = min_refresh_seconds
        self.max_age_seconds = max_age_seconds
        self._cache = _CachedKeys()
        self._jwks_url = settings.oidc_jwks_url
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> PyJWK:
        cache = self._cache
        stale = self.now() - cache.fetched_at > self.max_age_seconds
        if kid in cache.keys and not stale:
            return cache.keys[kid]
        async with self._lock:
            cache = self._cache
            may_refresh = self.now() - cache.fetched_at >= self.min_refresh_seconds
            if may_refresh and (kid not in cache.keys or stale):
                await self._refresh()
        if kid not in self._cache.keys:
            raise TokenRejected(f"signed with a key the identity provider does not publish ({kid})")
        return self._cache.keys[kid]

    async def _refresh(self) -> None:
        try:
            url = await self._discover_jwks_url()
            response = await self.http.get(url, timeout=5)
            response.raise_for_status()
            keys: dict[str, PyJWK] = {}
            for jwk in response.json().get("keys", []):
                if jwk.get("use", "sig") != "sig" or "kid" not in jwk:
                    continue
                try:
                    keys[jwk["kid"]] = PyJWK(jwk)
                except jwt.PyJWTError:
                    continue  # a key type we do not verify with (e.g. encryption keys)
        except (httpx.HTTPError, ValueError) as exc:
            log.error("identity.keys_unavailable", error=str(exc))
            raise TokenRejected("the identity provider's keys cannot be fetched") from exc
        self._cache = _CachedKeys(keys, self.now())
        log.info("identity.keys_fetched", kids=sorted(keys))

    async def _discover_jwks_url(self) -> str:
        if self._jwks_url:
            return self._jwks_url
        issuer = self.settings.oidc_issuer.rstrip("/")
        response = await self.http.get(f"{issuer}/.well-known/openid-configuration", timeout=5)
        response.raise_for_status()
        document = response.json()
        if document.get("issuer", "").rstrip("/") != issuer:
            raise ValueError(f"discovery names issuer {document.get('issuer')!r}, not {issuer!r}")
        self._jwks_url = str(document["jwks_uri"])
        return self._jwks_url


class TokenVerifier:
    """Turns a bearer token into a Principal, or refuses it with a reason."""

    def __init__(
        self,
        settings: HearthSettings,
        http: httpx.AsyncClient | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.http = http or httpx.AsyncClient()
        self.keys = ProviderKeys(settings, self.http)
        # Token lifetimes are real time, whatever the business clock says.
        self.wall_clock = wall_clock

    async def close(self) -> None:
        await self.http.aclose()

    async def verify(self, token: str) -> Principal:
        settings = self.settings
        if not settings.oidc_issuer:
            raise TokenRejected("no identity provider is configured (HEARTH_OIDC_ISSUER)")
        header = _header(token)
        algorithm = header.get("alg")
        if algorithm not in settings.oidc_algorithms:
            raise TokenRejected(f"algorithm {algorithm!r} is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("the token names no signing key (kid)")
        key = await self.keys.key(kid)
        claims = _decode(token, key, algorithm, settings)
        self._check_times(claims)
        return self._principal(claims)

    def _check_times(self, claims: dict[str, Any]) -> None:
        now, leeway = self.wall_clock(), self.settings.oidc_leeway_seconds
        if _number(claims, "exp") <= now - leeway:
            raise TokenRejected("the token has expired")
        not_before = claims.get("nbf", claims["iat"])
        if not isinstance(not_before, int | float) or not_before > now + leeway:
            raise TokenRejected("the token is not valid yet")

    def _principal(self, claims: dict[str, Any]) -> Principal:
        s = self.settings
        organisation = claims.get(s.oidc_organisation_claim)
        if not isinstance(organisation, str) or not organisation.strip():
            raise TokenRejected(f"the token names no organisation ({s.oidc_organisation_claim})")
        caseworker = claims.get(s.oidc_caseworker_claim)
        return Principal(
            subject=str(claims["sub"]),
            organisation=organisation,
            roles=_strings(claims.get(s.oidc_roles_claim)),
            username=str(claims.get("preferred_username") or claims.get("name") or ""),
            teams=_strings(claims.get(s.oidc_teams_claim)),
            caseworker_id=caseworker if isinstance(caseworker, str) and caseworker else None,
            client_id=str(claims["azp"]) if claims.get("azp") else None,
            token_id=str(claims["jti"]) if claims.get("jti") else None,
        )


def _header(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, ValueError) as exc:  # ValueError: bad base64 or JSON
        raise TokenRejected("not a well-formed JSON Web Token") from exc
    return header


def _decode(token: str, key: PyJWK, algorithm: str, settings: HearthSettings) -> dict[str, Any]:
    try:
        return jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=settings.oidc_audience,
            issuer=settings.oidc_issuer,
            options={
                "require": ["exp", "iat", "iss", "aud", "sub"],
                # Times are checked against our own wall clock (below), testably.
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise TokenRejected("the token's signature does not verify") from exc
    except jwt.InvalidAudienceError as exc:
        raise TokenRejected(f"the token is not meant for {settings.oidc_audience}") from exc
    except jwt.InvalidIssuerError as exc:
        raise TokenRejected("the token was issued by an identity provider we do not trust") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise TokenRejected(f"the token lacks the {exc.claim!r} claim") from exc
    except jwt.PyJWTError as exc:
        raise TokenRejected(f"the token cannot be read ({type(exc).__name__})") from exc


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TokenRejected(f"the token's {name!r} claim is not a time")
    return float(value)


def _strings(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list):
        return frozenset(v for v in value if isinstance(v, str))
    return frozenset()
