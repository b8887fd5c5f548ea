"""HTTP for every service: versioned routers behind verified identities and the policy table,
the audit of every request that touches a person's record, idempotent creating POSTs
(`Idempotency-Key`, shared/idempotency.py), health on the public port, metrics on their own
port, and field-naming errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import Counter, start_http_server

from shared.audit import REQUEST_ID_HEADER, audit_entry, header_id
from shared.auth import FailedSignIns, access_of, require_caller
from shared.idempotency import (
    COLLECTION,
    IdempotencyMiddleware,
    IdempotencyStore,
    IdempotentAnswer,
    document_creating_routes,
    idempotency_guard,
)
from shared.identity import TokenVerifier
from shared.ids import new_id
from shared.logging import get_logger, log_context
from shared.policy import policy_for
from shared.redaction import safe_error
from shared.runtime import ServiceRuntime

log = get_logger(__name__)

REFUSALS = Counter(
    "hearth_http_refusals_total", "Requests refused, by status", ["service", "status"]
)

API_VERSION = "v1"


def field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors():
        location = [str(p) for p in error["loc"] if p != "body"]
        errors.append({"field": ".".join(location) or "body", "message": error["msg"]})
    return errors


def route_template(request: Request) -> str:
    """The matched route's template (`/v1/referrals/{referral_id}`), for logs and labels."""
    route = request.scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")


def create_http_app(
    runtime: ServiceRuntime,
    title: str,
    description: str,
    routers: Iterable[APIRouter],
    manage_runtime: bool = True,
) -> FastAPI:
    settings = runtime.settings
    verifier = TokenVerifier(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        metrics_server = None
        if manage_runtime:
            await runtime.start()
            if settings.metrics_port:
                metrics_server, _thread = start_http_server(
                    settings.metrics_port, settings.metrics_host
                )
        try:
            yield
        finally:
            if metrics_server is not None:
                metrics_server.shutdown()
            await verifier.close()
            if manage_runtime:
                await runtime.stop()

    app = FastAPI(title=title, description=description, version=API_VERSION, lifespan=lifespan)
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.verifier = verifier
    app.state.failed_sign_ins = FailedSignIns(
        settings.failed_sign_in_limit, settings.failed_sign_in_window_seconds
    )
    idempotency = IdempotencyStore(runtime.collection(COLLECTION))
    runtime.on_startup(idempotency.purge)
    app.state.idempotency = idempotency
    # Inside the audit (added first, so it runs within it): replays and refusals are audited.
    app.add_middleware(IdempotencyMiddleware)
    app.middleware("http")(_audited(runtime))

    @app.exception_handler(IdempotentAnswer)
    async def _idempotent(_: Request, exc: IdempotentAnswer) -> Response:
        return exc.response

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(exc)
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse({"detail": summary, "errors": errors}, status_code=422)

    @app.get("/health/live", tags=["operations"])
    async def live() -> dict[str, str]:
        return {"status": "ok", "service": runtime.settings.service_name}

    @app.get("/health/ready", tags=["operations"])
    @app.get("/health", tags=["operations"])
    async def ready() -> JSONResponse:
        checks = await runtime.readiness()
        ok = all(checks.values())
        body = {"status": "ok" if ok else "unavailable", "checks": checks}
        return JSONResponse(body, status_code=200 if ok else 503)

    for router in routers:
        # Every route under /v1 needs a verified caller and a policy, whatever it declares;
        # then a creating POST's Idempotency-Key is claimed (or answered) before it runs.
        app.include_router(
            router,
            prefix=f"/{API_VERSION}",
            dependencies=[Depends(require_caller), Depends(idempotency_guard)],
        )
    _document_idempotency(app, settings.service_name)
    return app


def _document_idempotency(app: FastAPI, service: str) -> None:
    """The guard reads the header itself (so it is not on every route); the OpenAPI names it
    on each creating route."""
    generate = app.openapi

    def creates(method: str, path: str) -> bool:
        versioned = path.startswith(f"/{API_VERSION}/")
        policy = policy_for(service, method, path.removeprefix(f"/{API_VERSION}"))
        return versioned and policy is not None and policy.creates

    def openapi() -> dict[str, Any]:
        schema = generate()
        document_creating_routes(schema, creates)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


ACCESS_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "no bearer token, or one that cannot be trusted (the reason is given)"},
    403: {"description": "the caller's roles do not allow this (shared/policy.py)"},
    429: {"description": "too many failed sign-ins from this client; see Retry-After"},
    503: {"description": "the audit trail cannot be written just now; nothing was answered"},
}


def _audited(
    runtime: ServiceRuntime,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    service = runtime.settings.service_name

    async def middleware(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = header_id(request, REQUEST_ID_HEADER) or new_id("req")
        with log_context(request_id=request_id):
            response = await call_next(request)
            response.headers[REQUEST_ID_HEADER] = request_id
            access = access_of(request)
            if access.refusal is not None:
                REFUSALS.labels(service, str(response.status_code)).inc()
                log.warning(
                    "http.refused",
                    status=response.status_code,
                    reason=access.refusal,
                    path=route_template(request),  # never the raw path: ids, or worse, in it
                    client=request.client.host if request.client else None,
                )
            entry = audit_entry(
                request,
                response.status_code,
                service=service,
                at=datetime.now(UTC),  # real time, whatever the business clock says
                request_id=request_id,
            )
            if entry is None:
                return response
            try:
                await runtime.publisher.publish(entry)
            except Exception as exc:
                # No audit entry, no answer: the caller retries; nothing is seen unrecorded.
                log.error("audit.unavailable", error=safe_error(exc))
                return _unavailable(request_id)
            return response

    return middleware


def _unavailable(request_id: str) -> JSONResponse:
    body: dict[str, Any] = {"detail": "the audit trail cannot be written; try again shortly"}
    return JSONResponse(body, status_code=503, headers={REQUEST_ID_HEADER: request_id})
