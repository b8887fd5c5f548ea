"""HTTP API of the outcomes service. Every route answers for the caller's organisation only."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    return []
