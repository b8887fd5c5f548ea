"""HTTP for every service: versioned routers behind verified identities and the policy table,
the audit of every request that touches a person's record, idempotent creating POSTs
(`Idempotency-Key`, shared/idempotency.py), health on the public port, metrics on their own
port, field-naming errors, and request bodies capped before they are read.

The body cap (`BodyLimitMiddleware`): `DEFAULT_MAX_BODY_BYTES` for every route, and
`openapi_extra=body_limit(n)` on a route that needs more or less (a CSV upload, a referral),
so the limit a route enforces is the one its OpenAPI operation states
(`x-hearth-max-body-bytes`, with a sentence in its description). The route's limit is known at
the first read of the body (after routing, before parsing): a `Content-Length` over it is
refused then, before a byte is read; otherwise bytes are counted as they arrive and the read
that crosses the limit fails. Nothing over the cap is buffered, parsed or validated: the
answer is a 413 naming the limit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import Counter, start_http_server
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
from shared.validation import printable

log = get_logger(__name__)

REFUSALS = Counter(
    "hearth_http_refusals_total", "Requests refused, by status", ["service", "status"]
)

API_VERSION = "v1"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # every route, unless it declares its own
BODY_LIMIT_EXTENSION = "x-hearth-max-body-bytes"


def field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors():
        # A field name from the body (an unknown key) may hold a lone surrogate: shown escaped,
        # so the answer can be encoded.
        location = [printable(str(p)) for p in error["loc"] if p != "body"]
        errors.append({"field": ".".join(location) or "body", "message": error["msg"]})
    return errors


def body_limit(max_bytes: int) -> dict[str, Any]:
    """A route's own body limit, as its `openapi_extra`: enforced and documented as one."""
    return {BODY_LIMIT_EXTENSION: max_bytes}


class BodyTooLarge(StarletteHTTPException):
    """Raised by the read that crosses the limit; an HTTPException, so whatever was reading
    (FastAPI's body or form parsing, a route's own stream) lets it through to the 413."""

    def __init__(self, limit: int) -> None:
        message = f"larger than this route's limit of {limit} bytes; nothing was processed"
        super().__init__(status_code=413, detail=message)
        self.limit = limit


def body_too_large(exc: BodyTooLarge) -> JSONResponse:
    return JSONResponse(
        {"detail": f"body: {exc.detail}", "errors": [{"field": "body", "message": exc.detail}]},
        status_code=413,
    )


class BodyLimitMiddleware:
    """Caps request bodies before they are read (see the module's docstring). The limit is the
    matched route's, known at the first read: after routing, before any byte is parsed."""

    def __init__(self, app: ASGIApp, default: int) -> None:
        self.app = app
        self.default = default

    def limit_of(self, route: Any) -> int:
        extra = getattr(route, "openapi_extra", None) or {}
        return int(extra.get(BODY_LIMIT_EXTENSION, self.default))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        received = 0
        limit: int | None = None

        async def counted() -> Message:
            nonlocal received, limit
            if limit is None:
                limit = self.limit_of(scope.get("route"))
                if declared.isdigit() and int(declared) > limit:
                    raise BodyTooLarge(limit)  # said too large: not one byte is read
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


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
    # Innermost: a body's size is judged before anything inside reads it.
    app.add_middleware(BodyLimitMiddleware, default=DEFAULT_MAX_BODY_BYTES)
    # Inside the audit (added first, so it runs within it): replays and refusals are audited.
    app.add_middleware(IdempotencyMiddleware)
    app.middleware("http")(_audited(runtime))

    @app.exception_handler(IdempotentAnswer)
    async def _idempotent(_: Request, exc: IdempotentAnswer) -> Response:
        return exc.response

    @app.exception_handler(413)
    async def _too_large(_: Request, exc: Exception) -> Response:
        if isinstance(exc, BodyTooLarge):
            return body_too_large(exc)
        return JSONResponse({"detail": getattr(exc, "detail", None)}, status_code=413)

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
    _document_body_limits(app)
    return app


def _document_body_limits(app: FastAPI) -> None:
    """Each operation that takes a body states its limit: an extension for machines (a route's
    own `body_limit` is already there), a sentence for people, and the 413."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        for methods in schema.get("paths", {}).values():
            for operation in methods.values():
                if not isinstance(operation, dict) or "requestBody" not in operation:
                    continue
                limit = operation.setdefault(BODY_LIMIT_EXTENSION, DEFAULT_MAX_BODY_BYTES)
                sentence = f"Bodies over {limit:,} bytes are refused with 413 before they are read."
                text = operation.get("description", "")
                if sentence not in text:
                    operation["description"] = f"{text}\n\n{sentence}".strip()
                operation.setdefault("responses", {}).setdefault(
                    "413", {"description": f"the body is over {limit:,} bytes"}
                )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


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
