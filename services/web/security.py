"""Browser-facing defences: security headers on every answer, and CSRF checks on every
state-changing request (a per-session token in each form, or htmx's header)."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.web.settings import WebSettings

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def content_security_policy(settings: WebSettings) -> str:
    # No inline script or style anywhere: every script is a file the app serves. Forms may
    # post only here, and to the identity provider (its sign-in and sign-out pages).
    provider = urlsplit(settings.oidc_issuer)
    provider_origin = f"{provider.scheme}://{provider.netloc}" if provider.netloc else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action 'self' {provider_origin}".strip(),
            "frame-ancestors 'none'",
        ]
    )


def security_headers(settings: WebSettings) -> list[tuple[bytes, bytes]]:
    headers = {
        "content-security-policy": content_security_policy(settings),
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        # Case pages' addresses hold ids, never names, but no address leaves for another site.
        "referrer-policy": "no-referrer",
        "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-resource-policy": "same-origin",
    }
    if settings.served_over_tls:
        headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
    return [(k.encode(), v.encode()) for k, v in headers.items()]


class SecurityHeaders:
    """Pure ASGI, so streamed answers and static files get the headers too. Pages are never
    cached (they hold personal data); the app's static files may be."""

    def __init__(self, app: ASGIApp, settings: WebSettings) -> None:
        self.app = app
        self.headers = security_headers(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/assets/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # (No `Server` header to remove: shared/serve.py turns uvicorn's off.)
                headers = [*message.get("headers", []), *self.headers]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_matches(expected: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(expected.encode(), str(presented).encode())
