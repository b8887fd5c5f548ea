"""Every service with an HTTP API, for tests that walk all of their routes."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

from fastapi import FastAPI

from shared.settings import HearthSettings

SERVICES = (
    "referral",
    "allocation",
    "support",
    "reconnection",
    "notifications",
    "audit",
    "agreements",
    "privacy",
    "outcomes",
)


def create(service: str, settings: HearthSettings) -> FastAPI:
    module = importlib.import_module(f"services.{service}.app")
    app: FastAPI = module.create_app(settings, manage_runtime=False)
    return app


def routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path without /v1) of every versioned route, as the policy table names them."""
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/v1/"):
            for method in operations:
                yield method.upper(), path.removeprefix("/v1")
