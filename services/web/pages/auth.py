"""Signing in and out: the authorisation-code flow with PKCE against the identity provider,
a new server-side session at every sign-in, and sign-out that ends the provider's session."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any

import jwt
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web.context import ViewerDep, cookie_name
from services.web.oidc import OidcClient, SignInFailed
from services.web.pkce import new_state, new_verifier
from services.web.rendering import render
from services.web.sessions import SessionStore, SignIns, User
from services.web.settings import WebSettings
from shared.identity import TokenRejected, TokenVerifier
from shared.logging import get_logger

log = get_logger(__name__)
router = APIRouter()
SIGN_IN_COOKIE = "hearth-sign-in"


def safe_return_to(value: str | None) -> str:
    """Only a path on this site: never `//elsewhere`, `\\elsewhere` or a full URL."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _cookie_options(settings: WebSettings) -> dict[str, Any]:
    return {"httponly": True, "secure": settings.served_over_tls, "samesite": "lax", "path": "/"}


@router.get("/sign-in")
async def sign_in(request: Request, return_to: str = "/") -> Response:
    state = request.app.state
    oidc: OidcClient = state.oidc
    sign_ins: SignIns = state.sign_ins
    login_state, verifier, nonce = new_state(), new_verifier(), new_state()
    await sign_ins.begin(login_state, verifier, nonce, safe_return_to(return_to), _now())
    response = RedirectResponse(
        await oidc.authorisation_url(login_state, nonce, verifier), status_code=302
    )
    # Ties the provider's answer to this browser: a callback carrying someone else's state
    # (login CSRF, a forced sign-in as the attacker) finds no matching cookie.
    response.set_cookie(SIGN_IN_COOKIE, login_state, max_age=600, **_cookie_options(state.settings))
    return response


@router.get("/auth/callback")
async def callback(
    request: Request,
    code: str = "",
    state: str = "",
    error: str = "",
) -> Response:
    app_state = request.app.state
    settings: WebSettings = app_state.settings
    if error:
        return _refused(request, "The sign-in was not completed. Please try again.")
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not state or not expected or not hmac.compare_digest(state, expected):
        log.warning("web.sign_in_state_mismatch")
        return _refused(request, "This sign-in link is not yours or has expired.")
    pending = await app_state.sign_ins.finish(state, _now())
    if pending is None or not code:
        return _refused(request, "This sign-in has expired. Please sign in again.")
    oidc: OidcClient = app_state.oidc
    verifier: TokenVerifier = app_state.verifier
    try:
        tokens = await oidc.exchange(code, pending["verifier"], pending["nonce"])
        principal = await verifier.verify(tokens.access)
    except (SignInFailed, TokenRejected) as exc:
        log.warning("web.sign_in_refused", reason=str(exc))
        return _refused(request, "The identity provider's answer could not be trusted.")
    claims = jwt.decode(tokens.id_token, options={"verify_signature": False})
    user = User(
        subject=principal.subject,
        username=principal.username,
        name=str(claims.get("name") or principal.username),
        organisation=principal.organisation,
        roles=principal.roles,
        teams=principal.teams,
        caseworker_id=principal.caseworker_id,
    )
    store: SessionStore = app_state.sessions
    # Whatever session id the browser brought is dropped: the signed-in session always has
    # a new one (session fixation).
    if brought := request.cookies.get(cookie_name(settings)):
        await store.end(brought)
    session = await store.start(user, tokens, _now())
    log.info("web.signed_in", subject=user.subject, organisation=user.organisation)
    response = RedirectResponse(pending["return_to"], status_code=303)
    response.delete_cookie(SIGN_IN_COOKIE, path="/")
    response.set_cookie(cookie_name(settings), session.id, **_cookie_options(settings))
    return response


@router.post("/sign-out")
async def sign_out(request: Request, viewer: ViewerDep) -> Response:
    app_state = request.app.state
    settings: WebSettings = app_state.settings
    oidc: OidcClient = app_state.oidc
    await app_state.sessions.end(viewer.session.id)
    try:
        await oidc.revoke(viewer.session.tokens)
    except Exception as exc:  # the local session is gone either way
        log.warning("web.revoke_failed", error=type(exc).__name__)
    response = RedirectResponse(await oidc.sign_out_url(viewer.session.tokens.id_token), 303)
    response.delete_cookie(cookie_name(settings), path="/")
    return response


@router.get("/signed-out", response_class=HTMLResponse)
async def signed_out(request: Request) -> Response:
    return render(request, None, "signed_out.html")


@router.get("/accessibility", response_class=HTMLResponse)
async def accessibility(request: Request) -> Response:
    return render(request, None, "accessibility.html")


@router.get("/privacy", response_class=HTMLResponse)
async def privacy(request: Request) -> Response:
    return render(request, None, "privacy.html")


def _refused(request: Request, message: str) -> Response:
    response = render(request, None, "sign_in_problem.html", status=400, message=message)
    response.delete_cookie(SIGN_IN_COOKIE, path="/")
    return response


def _now() -> datetime:
    return datetime.now(UTC)
