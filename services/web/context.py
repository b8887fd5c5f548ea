"""Who is looking: the signed-in person's session, their own token for the APIs, and the
checks every page runs first (signed in, session alive, CSRF on anything that changes)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from services.web.backend import Backend
from services.web.oidc import OidcClient, SignInFailed
from services.web.security import CSRF_FIELD, CSRF_HEADER, csrf_matches
from services.web.sessions import Session, SessionStore, User
from services.web.settings import WebSettings
from shared.audit import REQUEST_ID_HEADER, header_id
from shared.ids import new_id
from shared.logging import get_logger
from shared.policy import Permission, reach

log = get_logger(__name__)
REFRESH_MARGIN_SECONDS = 30
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cookie_name(settings: WebSettings) -> str:
    # "__Host-": only ever set over TLS by this very host, for the whole site, never by a
    # sibling subdomain. Plain http (a laptop's demo) cannot use the prefix.
    return "__Host-hearth-session" if settings.served_over_tls else "hearth-session"


class SignInRequired(Exception):
    def __init__(self, return_to: str) -> None:
        self.return_to = return_to


class CsrfRefused(Exception):
    pass


@dataclass
class Viewer:
    session: Session
    api: Backend
    request_id: str
    form: FormData | None = None

    @property
    def user(self) -> User:
        return self.session.user

    def may(self, permission: Permission) -> bool:
        return reach(self.session.user.roles, permission) is not None

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else default

    def values(self) -> dict[str, str]:
        """The form's text fields as typed (to show them again), without the CSRF token."""
        if self.form is None:
            return {}
        return {k: v for k, v in self.form.items() if isinstance(v, str) and k != CSRF_FIELD}

    def fields(self, name: str) -> list[str]:
        if self.form is None:
            return []
        return [v for v in self.form.getlist(name) if isinstance(v, str)]

    @property
    def idempotency_key(self) -> str:
        """The key the form was rendered with (one per form, so a resubmission repeats it)."""
        return self.field("idempotency_key") or new_id("web")


def new_form_key() -> str:
    return f"web-{uuid.uuid4().hex}"


def _return_to(request: Request) -> str:
    path = request.url.path
    if request.method not in SAFE_METHODS:
        return "/"
    return path + (f"?{request.url.query}" if request.url.query else "")


async def current_viewer(request: Request) -> Viewer:
    state = request.app.state
    settings: WebSettings = state.settings
    store: SessionStore = state.sessions
    now = datetime.now(UTC)
    session = await store.find(request.cookies.get(cookie_name(settings), ""), now)
    if session is None:
        raise SignInRequired(_return_to(request))
    if session.tokens.access_expires_at - time.time() < REFRESH_MARGIN_SECONDS:
        oidc: OidcClient = state.oidc
        try:
            await store.save_tokens(session, await oidc.refresh(session.tokens))
        except SignInFailed as exc:
            # The provider ended the session (signed out elsewhere, idle there, disabled).
            log.info("web.session_refresh_refused", reason=str(exc))
            await store.end(session.id)
            raise SignInRequired(_return_to(request)) from exc
    request_id = header_id(request, REQUEST_ID_HEADER) or new_id("req")
    form = None
    if request.method not in SAFE_METHODS:
        form = await request.form(max_files=5, max_fields=2000)
        presented = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
        if not csrf_matches(session.csrf, presented if isinstance(presented, str) else None):
            log.warning("web.csrf_refused", path=request.url.path)
            raise CsrfRefused()
    api = Backend(state.api_http, settings.web_services, session.tokens.access, request_id)
    return Viewer(session, api, request_id, form)


ViewerDep = Annotated[Viewer, Depends(current_viewer)]
