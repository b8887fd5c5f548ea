"""Today: what is waiting for the signed-in person, whatever their role."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.web.context import ViewerDep
from services.web.rendering import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def today(request: Request, viewer: ViewerDep) -> HTMLResponse:
    return render(request, viewer, "home.html")
