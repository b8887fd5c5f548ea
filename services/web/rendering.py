"""Pages from Jinja templates (autoescaped), each given who is looking, their navigation,
the CSRF token for its forms and any confirmation waiting to be shown."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.web import navigation
from services.web.context import Viewer, new_form_key
from services.web.security import CSRF_FIELD

TEMPLATES = Path(__file__).parent / "templates"


def _parse(value: Any) -> date | datetime | None:
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                return None
    return None


def govuk_date(value: Any) -> str:
    """'1 December 2026', as the GOV.UK style guide writes dates."""
    moment = _parse(value)
    if moment is None:
        return "" if value in (None, "") else str(value)
    return f"{moment.day} {moment:%B %Y}"


def govuk_datetime(value: Any) -> str:
    moment = _parse(value)
    if not isinstance(moment, datetime):
        return govuk_date(value)
    hour = moment.hour % 12 or 12
    return f"{govuk_date(moment)}, {hour}:{moment:%M}{'am' if moment.hour < 12 else 'pm'}"


def money(value: Any) -> str:
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return "" if value in (None, "") else str(value)
    return f"-£{-amount:,.2f}" if amount < 0 else f"£{amount:,.2f}"


def words(value: Any) -> str:
    """A code as words: 'tenancy-at-risk' -> 'Tenancy at risk'."""
    text = str(value or "").replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(date=govuk_date, datetime=govuk_datetime, money=money, words=words)


def render(
    request: Request, viewer: Viewer | None, template: str, status: int = 200, **context: Any
) -> HTMLResponse:
    roles = viewer.user.roles if viewer else frozenset()
    items = navigation.items_for(roles) if viewer else []
    page = environment.get_template(template).render(
        request=request,
        path=request.url.path,
        viewer=viewer,
        user=viewer.user if viewer else None,
        nav_items=items,
        nav_current=navigation.current(request.url.path, items),
        csrf_field=CSRF_FIELD,
        csrf_token=viewer.session.csrf if viewer else "",
        form_key=new_form_key(),
        flash=viewer.session.flash if viewer else [],
        may=(lambda permission: viewer.may(permission)) if viewer else (lambda _: False),
        **context,
    )
    return HTMLResponse(page, status_code=status)


async def done(request: Request, viewer: Viewer, message: str, to: str) -> RedirectResponse:
    """After a change: the confirmation for the next page, and a 303 to it (Post/Redirect/Get,
    so a reload never submits the form again)."""
    await request.app.state.sessions.add_flash(viewer.session, message)
    return RedirectResponse(to, status_code=303)


def refused(
    request: Request,
    viewer: Viewer,
    heading: str = "You do not have access to this page",
    line: str = "Your role does not include this page. If you need it, ask your organisation's "
    "admin.",
) -> HTMLResponse:
    """A page this person's roles do not include: said plainly, with their navigation."""
    return render(request, viewer, "error.html", status=403, heading=heading, lines=[line])
