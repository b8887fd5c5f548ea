"""Signing in and out through the real identity provider, in a real browser."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from devstack.identities import Identities
from tests.web.browser import assert_accessible, person, screenshot, sign_in, sign_out


def test_a_caseworker_signs_in_sees_today_and_signs_out(
    page: Page, web_url: str, identities: Identities
) -> None:
    username = person(
        identities,
        "test.web.derby.caseworker",
        "derby-council",
        ["caseworker"],
        teams=["team-east"],
        caseworker_id="cw-web-1",
        name="Asha Patel",
    )
    sign_in(page, web_url, username)
    expect(page.locator("h1")).to_have_text("Today")
    expect(page.locator(".hearth-header__who")).to_contain_text("Asha Patel")
    screenshot(page, "today-caseworker")
    assert_accessible(page)
    sign_out(page)
    page.goto(web_url)
    expect(page.locator("#kc-login")).to_be_visible()  # signed out here and at the provider
