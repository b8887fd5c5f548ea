"""The referrer's pages in a real browser against the real stack: a housing options officer makes
a referral by keyboard alone (one slip: no given name and an impossible date of birth; the
error summary names both, its links focus the boxes, nothing typed is lost), follows its
status and the consent's scope, finds a person by name, resolves a possible match; another
organisation's officer finds no one."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.identities import Identities
from devstack.platform import Platform
from tests.identity import bearer
from tests.referral.factories import referral_json
from tests.web.browser import assert_accessible, person, screenshot, sign_in

pytestmark = pytest.mark.integration

ORG = "derby-council"
# Referrals wait unallocated in this module's platform (no teams): a team leader sees waiting
# referrals, so the officer follows the referrals they make (a caseworker's reach would not).
OFFICER_ROLES = ["team-leader"]


def focused_id(page: Page) -> str:
    return str(page.evaluate("document.activeElement ? document.activeElement.id : ''"))


# How many Tabs from the focused element to the target: the page's tab order (document order,
# one stop per radio group: its checked radio, else its first), so the Tabs go in one batch.
TAB_STOPS = """(target) => {
  const all = [...document.querySelectorAll(
    'a[href], button, select, textarea, input:not([type=hidden]), [tabindex="0"]')]
    .filter((e) => !e.disabled && e.offsetParent !== null)
    .filter((e) => e.type !== 'radio' || e.checked || !document.querySelector(
      `input[type=radio][name="${e.name}"]:checked`) && document.querySelector(
      `input[type=radio][name="${e.name}"]`) === e)
  const from = all.indexOf(document.activeElement)
  const to = all.findIndex((e) => e.id === target)
  return from >= 0 && to > from ? to - from : 0
}"""


def tab_to(page: Page, element_id: str, limit: int = 150) -> None:
    """Tab forward until the box is focused, as a keyboard user moves down a form."""
    for _ in range(int(page.evaluate(TAB_STOPS, element_id))):
        page.keyboard.press("Tab")
    if focused_id(page) == element_id:
        return
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused_id(page) == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def type_into(page: Page, element_id: str, text: str) -> None:
    tab_to(page, element_id)
    page.keyboard.type(text)


def tick(page: Page, element_id: str) -> None:
    tab_to(page, element_id)
    page.keyboard.press("Space")


def refer(platform: Platform, key: str, ni_number: str) -> dict[str, Any]:
    """A referral of Morgan Ellis through the real API, as the council's service manager."""
    body = referral_json()
    body["person"] = {
        "given_name": "Morgan",
        "family_name": "Ellis",
        "date_of_birth": "1979-05-06",
        "ni_number": ni_number,
    }
    answer = httpx.post(
        f"{platform.services['referral'].url}/v1/referrals",
        json=body,
        headers=bearer(ORG) | {"Idempotency-Key": f"{key}-{time.monotonic_ns()}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


@pytest.mark.timeout(900)  # a long form tabbed through on a shared, busy machine
def test_an_officer_makes_a_referral_by_keyboard_alone_and_follows_its_status(
    page: Page, web_url: str, identities: Identities, module_platform: Platform
) -> None:
    officer = person(
        identities,
        "test.web.referrals.officer",
        ORG,
        OFFICER_ROLES,
        teams=["housing-options"],
        name="Priya Shah",
    )
    sign_in(page, web_url, officer, "/referrals/new")
    expect(page.locator("h1")).to_have_text("Make a referral")
    assert_accessible(page)

    # One slip: the given name left out, and 31 February.
    type_into(page, "family-name", "Hale")
    type_into(page, "date-of-birth-day", "31")
    type_into(page, "date-of-birth-month", "2")
    type_into(page, "date-of-birth-year", "1990")
    type_into(page, "ni-number", "QQ 98 76 54 A")
    type_into(page, "address-line-1", "12 Market Street")
    type_into(page, "address-postcode", "DE1 2AB")
    type_into(page, "mobile", "07700900456")
    tick(page, "preferred-channels-2")  # text message
    tick(page, "support-needs")  # mental health
    tick(page, "risk-level")  # low ...
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # ... to high
    type_into(page, "date-facing-homelessness-day", "20")
    type_into(page, "date-facing-homelessness-month", "1")
    type_into(page, "date-facing-homelessness-year", "2027")
    tick(page, "consent-to-record")
    type_into(page, "consent-share-with", "derby-homes")
    tick(page, "consent-purposes")  # contact
    tick(page, "consent-purposes-4")  # referral status
    tick(page, "consent-channels-2")  # text message
    type_into(page, "referrer-reference", "HO-4471")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()  # govuk-frontend moves focus to the summary
    expect(page).to_have_title(re.compile(r"^Error: Make a referral"))
    links = summary.locator("a")
    expect(links).to_have_text(
        ["Enter the person's given name", "Date of birth must be a real date"]
    )
    # Nothing typed is lost: text, date parts, ticked boxes and the chosen radio.
    expect(page.locator("#family-name")).to_have_value("Hale")
    expect(page.locator("#date-of-birth-day")).to_have_value("31")
    expect(page.locator("#date-of-birth-year")).to_have_value("1990")
    expect(page.locator("#ni-number")).to_have_value("QQ 98 76 54 A")
    expect(page.locator("#preferred-channels-2")).to_be_checked()
    expect(page.locator("#support-needs")).to_be_checked()
    expect(page.locator("#risk-level-3")).to_be_checked()
    expect(page.locator("#date-facing-homelessness-year")).to_have_value("2027")
    expect(page.locator("#consent-to-record")).to_be_checked()
    expect(page.locator("#consent-share-with")).to_have_value("derby-homes")
    expect(page.locator("#consent-purposes-4")).to_be_checked()
    expect(page.locator("#consent-channels-2")).to_be_checked()
    expect(page.locator("#referrer-reference")).to_have_value("HO-4471")
    expect(page.locator("#given-name-error")).to_contain_text("Enter the person's given name")
    screenshot(page, "referral-form-errors")
    assert_accessible(page)

    # The summary's links focus their boxes: the second, then (back one) the first.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert focused_id(page) == "date-of-birth-day"
    page.keyboard.press("Control+A")
    page.keyboard.type("14")
    first_link = "document.activeElement === document.querySelector('.govuk-error-summary a')"
    for _ in range(10):  # back up the form to the summary's first link
        page.keyboard.press("Shift+Tab")
        if page.evaluate(first_link):
            break
    expect(links.nth(0)).to_be_focused()
    page.keyboard.press("Enter")
    assert focused_id(page) == "given-name"
    page.keyboard.type("Rowan")
    with page.expect_navigation(timeout=60_000):
        page.keyboard.press("Enter")
    errors = page.locator(".govuk-error-summary")
    assert not errors.count(), errors.inner_text()

    # The status page: received and screened, consent with its scope.
    expect(page).to_have_url(re.compile(r"/referrals/ref-[\w-]+$"), timeout=30_000)
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Referral sent")
    expect(page.locator(".govuk-caption-l")).to_have_text("Rowan Hale")
    main = page.locator("main")
    expect(main).to_contain_text("14 February 1990")
    expect(main).to_contain_text("Derby homes")
    expect(main).to_contain_text("Telling the referrer how the referral is going")
    expect(main).to_contain_text("Contacting the person about their support")
    expect(main).to_contain_text("Text message")
    expect(main.locator(".govuk-tag").first).to_have_text(re.compile("Assessed|Received"))
    screenshot(page, "referral-status")
    assert_accessible(page)

    referral_id = page.url.rsplit("/", 1)[-1]
    page.goto(f"{web_url}/referrals")  # the organisation's referrals, newest first
    newest = page.locator("tbody tr").first
    expect(newest).to_contain_text("HO-4471")
    expect(newest.get_by_role("link", name=referral_id)).to_be_visible()
    assert_accessible(page)


@pytest.mark.timeout(600)
def test_an_officer_finds_a_person_and_resolves_a_possible_match_another_org_finds_no_one(
    page: Page,
    browser: Browser,
    web_url: str,
    identities: Identities,
    module_platform: Platform,
) -> None:
    first = refer(module_platform, "ellis-1", "QQ 11 22 33 A")
    second = refer(module_platform, "ellis-2", "QQ 44 55 66 B")  # same name and birth date
    officer = person(
        identities,
        "test.web.referrals.finder",
        ORG,
        OFFICER_ROLES,
        teams=["housing-options"],
        name="Tom Reid",
    )
    sign_in(page, web_url, officer, "/referrals/search")
    assert_accessible(page)
    page.get_by_role("button", name="Search").click()  # nothing given: an error, not a list
    expect(page.locator(".govuk-error-summary a")).to_have_text(
        "Enter a name, date of birth or reference"
    )
    assert_accessible(page)

    page.get_by_label("Name", exact=True).fill("ellis")
    page.get_by_label("Day").fill("6")
    page.get_by_label("Month").fill("5")
    page.get_by_label("Year").fill("1979")
    page.get_by_role("button", name="Search").click()
    assert "ellis" not in page.url.lower()  # names never in the address
    expect(page.locator("#results")).to_have_text("2 people found")
    expect(page.locator("tbody")).to_contain_text("Morgan Ellis")
    expect(page.locator("#search-name")).to_have_value("ellis")
    screenshot(page, "referral-search")
    assert_accessible(page)

    page.get_by_role("link", name=second["id"]).click()
    expect(page.locator("h1")).to_have_text(f"Referral {second['id']}")
    page.get_by_role("link", name=re.compile(f"Resolve.*{first['person_id']}")).click()
    expect(page.locator("h1")).to_have_text("Are they the same person?")
    expect(page.locator("table")).to_contain_text("QQ 11 22 33 A")
    expect(page.locator("table")).to_contain_text("QQ 44 55 66 B")
    page.get_by_role("button", name="Save").click()  # no answer: the error summary
    expect(page.locator(".govuk-error-summary a")).to_have_text(
        "Select yes if they are the same person"
    )
    assert_accessible(page)
    page.get_by_label("No, unlink them").check()
    screenshot(page, "referral-match")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Possible match unlinked")
    expect(page.locator("main")).to_contain_text("No possible matches to resolve")
    expect(page.locator("main")).to_contain_text("not the same person (unlinked)")
    assert_accessible(page)

    # Another organisation's officer: the same search finds no one.
    elsewhere = person(
        identities,
        "test.web.referrals.leeds",
        "leeds-council",
        OFFICER_ROLES,
        teams=["housing-options"],
        name="Lee Brook",
    )
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    try:
        other = context.new_page()
        sign_in(other, web_url, elsewhere, "/referrals/search")
        other.get_by_label("Name", exact=True).fill("Morgan Ellis")
        other.get_by_role("button", name="Search").click()
        expect(other.locator("#results")).to_have_text("0 people found")
        assert_accessible(other)
        other.goto(f"{web_url}/referrals/{second['id']}")
        expect(other.locator("h1")).to_have_text("Page not found")
    finally:
        context.close()
