"""A real browser for the web app's tests: Debian's Chromium driven by Playwright, signing in
through the real identity provider's own sign-in page, axe-core run inside each page, and
screenshots kept for people to look at."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path
from urllib.parse import urljoin

import httpx
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from devstack.identities import PASSWORD, Identities
from devstack.stack import REPO_ROOT

SCREENSHOTS = Path(os.environ.get("HEARTH_SCREENSHOTS") or REPO_ROOT / ".hearth" / "screenshots")
_axe = Axe()


def person(
    identities: Identities,
    username: str,
    organisation: str,
    roles: list[str],
    teams: list[str] | None = None,
    caseworker_id: str | None = None,
    name: str = "",
) -> str:
    """A real user in the real identity provider (created or reset); returns the username."""
    identities.admin.ensure_user(
        username,
        PASSWORD,
        organisation=organisation,
        roles=roles,
        teams=teams or [],
        caseworker_id=caseworker_id,
        name=name or username.split(".")[-1].title() + " Tester",
    )
    return username


def sign_in(page: Page, web_url: str, username: str, path: str = "/") -> None:
    """Through the identity provider's own page, as a person would."""
    page.goto(f"{web_url}{path}")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#kc-login").click()
    page.wait_for_url(re.compile(re.escape(web_url) + ".*"))
    expect(page.locator("form[action='/sign-out'] button")).to_be_visible()


def sign_out(page: Page) -> None:
    page.locator("form[action='/sign-out'] button").click()
    expect(page.locator("h1")).to_have_text("You have signed out")


def assert_accessible(page: Page) -> None:
    """axe-core's WCAG 2.x A and AA rules (2.2 included) on the page as it is: no violations."""
    results = _axe.run(
        page,
        options={
            "runOnly": {
                "type": "tag",
                "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"],
            }
        },
    )
    violations = results.response["violations"]
    assert not violations, f"{page.url}: " + "; ".join(
        f"{v['id']} ({len(v['nodes'])}): {v['nodes'][0]['target']}" for v in violations
    )


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def http_browser() -> httpx.Client:
    """A browser's worth of HTTP for tests of the protocol itself: its own cookies, nothing
    shared with another test's.

    Browsers count http://127.0.0.1 as a secure context and send it Secure cookies (the
    provider's sign-in cookies are Secure); Python's cookie jar does not, so each cookie is
    kept as not Secure once received (on loopback only, where this runs)."""
    # Idle connections dropped before uvicorn drops them (5 s): no reset on reuse.
    http = httpx.Client(timeout=30, limits=httpx.Limits(keepalive_expiry=2))

    def keep_secure_cookies(_: httpx.Response) -> None:
        for cookie in http.cookies.jar:
            cookie.secure = False

    http.event_hooks["response"] = [keep_secure_cookies]
    return http


def http_sign_in(client: httpx.Client, web_url: str, username: str, path: str = "/") -> None:
    """The same sign-in without a browser, with an `http_browser()`: follow the app to the
    provider's page, post its form, follow back; the client keeps the cookies."""
    page = client.get(f"{web_url}{path}", follow_redirects=True)
    match = re.search(r'<form[^>]+action="([^"]+)"', page.text)
    assert match, f"no sign-in form at {page.url}"
    action = urljoin(str(page.url), html.unescape(match.group(1)))
    answer = client.post(
        action, data={"username": username, "password": PASSWORD}, follow_redirects=True
    )
    assert str(answer.url).startswith(web_url), f"sign-in ended at {answer.url}"
    answer.raise_for_status()


def csrf_token(page_html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page_html)
    assert match, "no CSRF token on the page"
    return match.group(1)
