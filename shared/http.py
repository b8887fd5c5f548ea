"""HTTP for every service: versioned routers behind verified identities and the policy table,
the audit of every request that touches a person's record, idempotent creating POSTs
(`Idempotency-Key`, shared/idempotency.py), health on the public port, metrics on their own
port, errors as RFC 9457 problem details naming the field (shared/problems.py), every error
status a route can answer declared in its OpenAPI, and request bodies capped before they are
read.

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
from shared.problems import (
    PROBLEM_JSON,
    Problem,
    ProblemFieldError,
    detail_text,
    field_problem,
    problem,
    summary,
    validation_error,
)
from shared.redaction import safe_error
from shared.runtime import ServiceRuntime
from shared.unit_of_work import ConcurrentUpdate
from shared.validation import printable

log = get_logger(__name__)

REFUSALS = Counter(
    "hearth_http_refusals_total", "Requests refused, by status", ["service", "status"]
)

API_VERSION = "v1"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # every route, unless it declares its own
BODY_LIMIT_EXTENSION = "x-hearth-max-body-bytes"


def field_errors(exc: RequestValidationError) -> list[ProblemFieldError]:
    """Each pydantic error as the field it names and the validator's own words."""
    errors = []
    for error in exc.errors():
        # A field name from the body (an unknown key) may hold a lone surrogate: shown escaped,
        # so the answer can be encoded.
        location = [printable(str(p)) for p in error["loc"] if p != "body"]
        errors.append(validation_error(location, str(error["msg"])))
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
    return field_problem("body", str(exc.detail), 413)


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

    install_problem_handlers(app)

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

    # A bulk process (`HEARTH_WORKLOAD=bulk`) answers health only (metrics are on their own
    # port): a person's request is the interactive process's, never queued behind a batch.
    for router in routers if runtime.runs_interactive else ():
        # Every route under /v1 needs a verified caller and a policy, whatever it declares;
        # then a creating POST's Idempotency-Key is claimed (or answered) before it runs.
        app.include_router(
            router,
            prefix=f"/{API_VERSION}",
            dependencies=[Depends(require_caller), Depends(idempotency_guard)],
        )
    _document_idempotency(app, settings.service_name)
    _document_body_limits(app)
    _document_problems(app)
    return app


def install_problem_handlers(app: FastAPI) -> None:
    """Every refusal and failure as a problem (shared/problems.py): an HTTPException's
    "field: message" detail names its field; pydantic's errors are cleaned of its wording."""

    @app.exception_handler(IdempotentAnswer)
    async def _idempotent(_: Request, exc: IdempotentAnswer) -> Response:
        return exc.response  # a replay, or a refusal already made a problem (key_error)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc, BodyTooLarge):
            return body_too_large(exc)
        if exc.status_code < 400 or exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=exc.headers)
        return problem(exc.status_code, detail_text(exc.detail), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(exc)
        return problem(422, summary(errors), errors)

    @app.exception_handler(ConcurrentUpdate)
    async def _busy(_: Request, exc: ConcurrentUpdate) -> JSONResponse:
        return problem(409, str(exc), kind="concurrent-update")

    @app.exception_handler(Exception)
    async def _failed(_: Request, exc: Exception) -> JSONResponse:
        # Logged by the server with its traceback; the caller learns nothing of the inside.
        return problem(
            500,
            "the service failed while answering; retry (a POST with the same "
            "Idempotency-Key, so it acts once)",
        )


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


ACCESS_RESPONSES: dict[str, str] = {
    "401": "no bearer token, or one that cannot be trusted (the reason is given)",
    "403": "the caller's roles do not allow this (shared/policy.py)",
    "429": "too many failed sign-ins from this client; see Retry-After",
    "503": "the audit trail cannot be written just now; nothing was answered",
}
NOT_FOUND = "no such record in your organisation (another organisation's are not found either)"
CONFLICT = "the record's state does not allow this, or it changed meanwhile (try again)"
INVALID = "a field, parameter or header is not valid; `errors` names each one"
WRITES = frozenset({"post", "put", "patch", "delete"})
SCHEMAS_REF = "#/components/schemas/"


def expected_errors(method: str, path: str, operation: dict[str, Any]) -> dict[str, str]:
    """The error statuses any /v1 operation can answer, by what it is: access refusals on
    every one, 404 where a path names a record, 409 where a write meets a record's rules or
    another writer, 422 where anything is read from the request."""
    if not path.startswith(f"/{API_VERSION}/"):
        return {}
    errors = dict(ACCESS_RESPONSES)
    names_record = "{" in path
    if names_record:
        errors["404"] = NOT_FOUND
    if names_record and method in WRITES:
        errors["409"] = CONFLICT
    if operation.get("parameters") or "requestBody" in operation:
        errors["422"] = INVALID
    return errors


def _document_problems(app: FastAPI) -> None:
    """Every error response of every operation declared with the problem schema, and the error
    statuses a route can answer that it did not declare itself (see `expected_errors`)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        model = Problem.model_json_schema(ref_template=SCHEMAS_REF + "{model}")
        schemas.update(model.pop("$defs", {}))
        schemas[Problem.__name__] = model
        content = {PROBLEM_JSON: {"schema": {"$ref": f"{SCHEMAS_REF}{Problem.__name__}"}}}
        for path, methods in schema.get("paths", {}).items():
            for method, operation in methods.items():
                if not isinstance(operation, dict):
                    continue
                responses = operation.setdefault("responses", {})
                for status, description in expected_errors(method, path, operation).items():
                    declared = responses.setdefault(status, {"description": description})
                    said = str(declared.get("description", ""))
                    if status == "409" and description not in said:
                        # Two causes of one status (a reused Idempotency-Key, a record's rules).
                        declared["description"] = f"{said}; or {description}"
                for status, response in responses.items():
                    if str(status).isdigit() and int(status) >= 400:
                        if response.get("description") == "Validation Error":
                            response["description"] = INVALID  # FastAPI's own 422
                        response["content"] = dict(content)
                operation["responses"] = dict(sorted(responses.items()))
        _drop_unused_schemas(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _drop_unused_schemas(schema: dict[str, Any]) -> None:
    """Schemas no operation refers to any more (FastAPI's own validation error, a service's
    earlier error body) are left out, so a reader finds one error model."""
    schemas: dict[str, Any] = schema.get("components", {}).get("schemas", {})

    def refs(node: Any) -> set[str]:
        found: set[str] = set()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(SCHEMAS_REF):
                found.add(ref.removeprefix(SCHEMAS_REF))
            for value in node.values():
                found |= refs(value)
        elif isinstance(node, list):
            for value in node:
                found |= refs(value)
        return found

    used: set[str] = set()
    waiting = refs(schema.get("paths", {}))
    while waiting:
        name = waiting.pop()
        if name not in used and name in schemas:
            used.add(name)
            waiting |= refs(schemas[name])
    for name in [n for n in schemas if n not in used]:
        del schemas[name]


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
    return problem(
        503,
        "the audit trail cannot be written; try again shortly",
        headers={REQUEST_ID_HEADER: request_id},
        request_id=request_id,
    )
