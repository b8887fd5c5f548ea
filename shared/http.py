"""HTTP for every service: versioned routers, health, metrics and field-naming errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.runtime import ServiceRuntime

API_VERSION = "v1"


def field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors():
        location = [str(p) for p in error["loc"] if p != "body"]
        errors.append({"field": ".".join(location) or "body", "message": error["msg"]})
    return errors


def create_http_app(
    runtime: ServiceRuntime,
    title: str,
    description: str,
    routers: Iterable[APIRouter],
    manage_runtime: bool = True,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_runtime:
            await runtime.start()
        try:
            yield
        finally:
            if manage_runtime:
                await runtime.stop()

    app = FastAPI(title=title, description=description, version=API_VERSION, lifespan=lifespan)
    app.state.settings = runtime.settings
    app.state.runtime = runtime

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

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router, prefix=f"/{API_VERSION}")
    return app
