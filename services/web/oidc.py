"""The web app as an OpenID Connect client of the organisation's identity provider:
authorisation-code flow with PKCE (S256), a confidential client, refresh and sign-out.
Only settings name the provider (Keycloak locally; Entra ID or any other in production)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from services.web.pkce import challenge
from services.web.sessions import Tokens
from services.web.settings import WebSettings


class SignInFailed(Exception):
    """The provider refused or the answer cannot be trusted; the message says which."""


class OidcClient:
    def __init__(self, settings: WebSettings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http
        self._discovery: dict[str, Any] | None = None

    @property
    def redirect_uri(self) -> str:
        return f"{self.settings.web_public_url.rstrip('/')}/auth/callback"

    async def discovery(self) -> dict[str, Any]:
        if self._discovery is None:
            issuer = self.settings.oidc_issuer.rstrip("/")
            url = self.settings.web_oidc_discovery_url or (
                f"{issuer}/.well-known/openid-configuration"
            )
            response = await self.http.get(url)
            response.raise_for_status()
            document = response.json()
            if document.get("issuer") != issuer:
                raise SignInFailed("the provider's discovery document names another issuer")
            self._discovery = document
        return self._discovery

    async def authorisation_url(self, state: str, nonce: str, verifier: str) -> str:
        endpoint = (await self.discovery())["authorization_endpoint"]
        query = {
            "response_type": "code",
            "client_id": self.settings.web_client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge(verifier),
            "code_challenge_method": "S256",
        }
        return f"{endpoint}?{urlencode(query)}"

    async def _token(self, form: dict[str, str], what: str) -> dict[str, Any]:
        endpoint = (await self.discovery())["token_endpoint"]
        response = await self.http.post(
            endpoint,
            data=form,
            auth=(self.settings.web_client_id, self.settings.web_client_secret.get_secret_value()),
        )
        if response.is_error:
            error = response.json().get("error", "") if response.content else ""
            raise SignInFailed(f"{what}: the provider answered {response.status_code} {error}")
        return response.json()  # type: ignore[no-any-return]

    async def exchange(self, code: str, verifier: str, nonce: str) -> Tokens:
        body = await self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": verifier,
            },
            "exchanging the sign-in code",
        )
        tokens = _tokens(body)
        # The ID token came straight from the token endpoint (not through the browser), so its
        # nonce is what ties it to this sign-in; the access token is verified in full later.
        claims = jwt.decode(tokens.id_token, options={"verify_signature": False})
        if claims.get("nonce") != nonce:
            raise SignInFailed("the ID token's nonce is not this sign-in's")
        return tokens

    async def refresh(self, tokens: Tokens) -> Tokens:
        body = await self._token(
            {"grant_type": "refresh_token", "refresh_token": tokens.refresh}, "refreshing"
        )
        fresh = _tokens(body)
        return Tokens(
            fresh.access,
            fresh.refresh or tokens.refresh,
            fresh.id_token or tokens.id_token,
            fresh.access_expires_at,
        )

    async def sign_out_url(self, id_token: str) -> str:
        endpoint = (await self.discovery()).get("end_session_endpoint")
        after = f"{self.settings.web_public_url.rstrip('/')}/signed-out"
        if not endpoint:
            return after
        query = {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": after,
            "client_id": self.settings.web_client_id,
        }
        return f"{endpoint}?{urlencode(query)}"

    async def revoke(self, tokens: Tokens) -> None:
        """Ends the provider's session behind the refresh token (best effort)."""
        endpoint = (await self.discovery()).get("revocation_endpoint")
        if endpoint and tokens.refresh:
            await self.http.post(
                endpoint,
                data={"token": tokens.refresh, "token_type_hint": "refresh_token"},
                auth=(
                    self.settings.web_client_id,
                    self.settings.web_client_secret.get_secret_value(),
                ),
            )


def _tokens(body: dict[str, Any]) -> Tokens:
    return Tokens(
        access=str(body["access_token"]),
        refresh=str(body.get("refresh_token", "")),
        id_token=str(body.get("id_token", "")),
        access_expires_at=time.time() + float(body.get("expires_in", 60)),
    )
