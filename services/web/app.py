"""The web app: Hearth for the people who do the work. Server-rendered GOV.UK pages that
call the services' APIs with the signed-in person's own token; its own database holds only
sessions. It reads no other service's collections and no Kafka topic."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import start_http_server

from services.web.backend import ApiError
from services.web.context import CsrfRefused, SignInRequired
from services.web.oidc import OidcClient
from services.web.pages import PAGES
from services.web.rendering import render
from services.web.security import SecurityHeaders
from services.web.sessions import SessionStore, SignIns, TokenSeal
from services.web.settings import WebSettings
from shared.audit import REQUEST_ID_HEADER, header_id
from shared.http import BodyLimitMiddleware
from shared.identity import TokenVerifier
from shared.ids import new_id
from shared.logging import configure_logging, get_logger, log_context
from shared.metrics import WEB_PAGE_SECONDS
from shared.mongo import make_mongo_client

MAX_FORM_BYTES = 256 * 1024  # the longest form (a referral, a plan) is a few kilobytes
log = get_logger(__name__)
STATIC = Path(__file__).parent / "static"
SWEEP_SECONDS = 60.0


def assets_dir(settings: WebSettings) -> Path:
    if settings.web_assets_dir:
        return Path(settings.web_assets_dir)
    from devstack.toolchain import web_assets  # the local stack's cache; built if missing

    return web_assets()


def create_app(settings: WebSettings, configure_logs: bool = True) -> FastAPI:
    if configure_logs:
        configure_logging(settings.service_name, settings.log_json, settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        mongo = make_mongo_client(settings)
        db = mongo[settings.database_name]
        provider_http = httpx.AsyncClient(timeout=10.0)
        app.state.sessions = SessionStore(
            db["sessions"],
            TokenSeal(settings.web_session_key.get_secret_value()),
            idle=timedelta(minutes=settings.web_idle_minutes),
            lifetime=timedelta(hours=settings.web_session_hours),
        )
        app.state.sign_ins = SignIns(db["sign_ins"])
        app.state.oidc = OidcClient(settings, provider_http)
        app.state.verifier = TokenVerifier(settings, provider_http)
        app.state.api_http = httpx.AsyncClient(
            timeout=settings.web_api_timeout_seconds,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )
        app.state.mongo = mongo
        sweeper = asyncio.create_task(_sweep(app))
        metrics_server = None
        if settings.metrics_port:  # on a port of its own, never the public one
            metrics_server, _ = start_http_server(settings.metrics_port, settings.metrics_host)
        log.info("service.started", public_url=settings.web_public_url)
        try:
            yield
        finally:
            sweeper.cancel()
            if metrics_server is not None:
                metrics_server.shutdown()
            await app.state.api_http.aclose()
            await provider_http.aclose()
            await mongo.close()

    app = FastAPI(
        title="Hearth web",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.mount("/assets/hearth", StaticFiles(directory=STATIC), name="hearth-assets")
    app.mount("/assets", StaticFiles(directory=assets_dir(settings)), name="assets")
    for router in PAGES:
        app.include_router(router)
    # Innermost: a body is judged by its size before the form is parsed (and the CSRF token
    # in it read); a route that takes a file declares its own, larger limit.
    app.add_middleware(BodyLimitMiddleware, default=MAX_FORM_BYTES)
    _install_handlers(app)

    @app.middleware("http")
    async def logged(request: Request, call_next):  # type: ignore[no-untyped-def]
        # Paths carry ids only (never names); query strings are not logged at all.
        request_id = header_id(request, REQUEST_ID_HEADER) or new_id("req")
        started = time.perf_counter()
        with log_context(request_id=request_id):
            response: Response = await call_next(request)
            if not request.url.path.startswith(("/assets/", "/health/")):
                elapsed = time.perf_counter() - started
                route = getattr(request.scope.get("route"), "path", "unmatched")
                status = response.status_code
                WEB_PAGE_SECONDS.labels(route, request.method, str(status)).observe(elapsed)
                log.info(
                    "web.request",
                    method=request.method,
                    route=route,
                    status=status,
                    ms=round(elapsed * 1000, 1),
                )
        response.headers[REQUEST_ID_HEADER] = request_id
        return response

    @app.get("/health/live", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "ok", "service": settings.service_name}

    @app.get("/health/ready", include_in_schema=False)
    async def ready() -> JSONResponse:
        checks = {"database": False, "identity_provider": False}
        with contextlib.suppress(Exception):
            await app.state.mongo.admin.command("ping")
            checks["database"] = True
        with contextlib.suppress(Exception):
            await app.state.oidc.discovery()
            checks["identity_provider"] = True
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
        )

    return SecurityHeaders(app, settings)  # type: ignore[return-value]


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        if request.headers.get("hx-request"):
            # htmx follows redirects invisibly; tell it to load the sign-in page instead.
            return Response(status_code=401, headers={"HX-Redirect": "/sign-in"})
        from urllib.parse import urlencode

        return RedirectResponse(f"/sign-in?{urlencode({'return_to': exc.return_to})}", 303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _: CsrfRefused) -> Response:
        return render(
            request,
            None,
            "error.html",
            status=403,
            heading="This form has expired",
            lines=["Go back, reload the page and try again. Nothing was changed."],
        )

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> Response:
        if exc.status == 401:
            return RedirectResponse("/sign-in", 303)
        heading, lines = {
            403: ("You do not have access to this", [exc.message]),
            404: ("Page not found", ["There is no such record, or it is not yours to see."]),
        }.get(
            exc.status,
            (
                "Sorry, there is a problem with the service",
                [f"The {exc.service} service could not answer. Try again later."],
            ),
        )
        status = exc.status if exc.status in (403, 404) else 503
        return render(request, None, "error.html", status=status, heading=heading, lines=lines)

    @app.exception_handler(413)
    async def _too_large(request: Request, _: Exception) -> HTMLResponse:
        return render(
            request,
            None,
            "error.html",
            status=413,
            heading="What you sent is too large",
            lines=["Nothing was saved. Go back and try again with less."],
        )

    @app.exception_handler(404)
    async def _not_found(request: Request, _: Exception) -> HTMLResponse:
        return render(
            request,
            None,
            "error.html",
            status=404,
            heading="Page not found",
            lines=["If you typed the web address, check it is correct."],
        )


async def _sweep(app: FastAPI) -> None:
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        with contextlib.suppress(Exception):
            now = datetime.now(UTC)
            await app.state.sessions.sweep(now)
            await app.state.sign_ins.sweep(now)
