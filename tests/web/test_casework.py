"""The caseworker's pages in a real browser against the real stack: a referral allocated to
Jo through the real APIs shows on her caseload; on the case she records a contact (the GOV.UK
error summary first), draws up and agrees the plan, completes a review, and sees each on the
case's timeline. A caseworker of another team is refused the case and sees nothing of the
person."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from devstack.identities import Identities
from devstack.platform import Platform
from tests.referral.factories import referral_json
from tests.web.browser import assert_accessible, person, screenshot, sign_in, sign_out
from tests.web.seeding import ApiSeed, eventually

pytestmark = pytest.mark.integration

ORG = "derby-council"
EAST, WEST = "cw-team-east", "cw-team-west"
JO = "cw-web-jo"


@pytest.fixture(scope="module")
def case_id(module_platform: Platform) -> str:
    """Alex Morgan's referral, allocated to Jo (the only caseworker) and opened as a case."""
    seed = ApiSeed(module_platform, ORG)
    seed.team(EAST, "East sustainment", "Abi Leader")
    seed.worker(JO, EAST, "Jo Caseworker", ["generalist", "mental_health"], 30)
    referral = seed.refer(referral_json())
    eventually(lambda: seed.get("support", f"/cases/{referral}").status_code == 200, "the case")
    return referral


@pytest.mark.timeout(900)  # one long journey, on a machine shared with other test runs
def test_a_caseworker_records_a_contact_agrees_a_plan_and_completes_a_review(
    page: Page, web_url: str, identities: Identities, case_id: str
) -> None:
    jo = person(
        identities,
        "test.web.casework.jo",
        ORG,
        ["caseworker"],
        teams=[EAST],
        caseworker_id=JO,
        name="Jo Caseworker",
    )
    sign_in(page, web_url, jo, "/caseload")
    expect(page.locator("h1")).to_have_text("My caseload")
    row = page.locator(f"#caseload tr[data-case-id='{case_id}']")
    expect(row).to_contain_text("Alex Morgan")
    expect(row).to_contain_text("Stage 1")
    assert_accessible(page)
    screenshot(page, "caseload")

    row.get_by_role("link", name="Alex Morgan").click()
    expect(page).to_have_url(f"{web_url}/cases/{case_id}")
    expect(page.locator("h1")).to_have_text("Alex Morgan")
    expect(page.locator("#case-timeline")).to_contain_text("Allocated to cw-web-jo")
    assert_accessible(page)

    # A contact: first sent half-typed, so every missing answer is named and nothing is lost.
    page.get_by_role("button", name="Record a contact").click()
    expect(page.locator("h1")).to_have_text("Record a contact")
    assert_accessible(page)
    page.locator("#duration-minutes").fill("forty")
    page.locator("#notes").fill("Talked about the rent account")
    page.locator("#attended").check()
    page.get_by_role("button", name="Record contact").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Error: "))
    for field, message in (
        ("channel", "Select how the contact happened"),
        ("occurred-on-day", "Enter the date of the contact"),
        ("duration-minutes", "whole number of minutes"),
    ):
        expect(summary.locator(f"a[href='#{field}']")).to_contain_text(message)
    expect(page.locator("#duration-minutes")).to_have_value("forty")
    expect(page.locator("#notes")).to_have_value("Talked about the rent account")
    expect(page.locator("#attended")).to_be_checked()
    assert_accessible(page)
    screenshot(page, "contact-form-errors")

    today = date.today()
    page.get_by_label("Home visit").check()
    page.locator("#occurred-on-day").fill(str(today.day))
    page.locator("#occurred-on-month").fill(str(today.month))
    page.locator("#occurred-on-year").fill(str(today.year))
    page.locator("#duration-minutes").fill("45")
    page.get_by_role("button", name="Record contact").click()
    expect(page).to_have_url(f"{web_url}/cases/{case_id}#contacts")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Contact recorded")
    expect(page.locator("#contact-log")).to_contain_text("Home visit")
    expect(page.locator("#contact-log")).to_contain_text("Talked about the rent account")

    # The plan: the needs assessed, one goal with its first action, agreed with the client.
    page.get_by_role("button", name="Draw up the plan").click()
    expect(page.locator("h1")).to_have_text("Draw up the support plan")
    assert_accessible(page)
    page.locator("#need-mental-health").select_option("medium")
    page.locator("#need-budgeting-and-arrears").select_option("high")
    page.locator("#goals-0-domain").select_option("budgeting_and_arrears")
    page.locator("#goals-0-goal").fill("Arrears repayment plan agreed with the landlord")
    page.locator("#goals-0-action").fill("Call the housing officer")
    page.locator("#goals-0-owner").select_option("worker")
    due = today + timedelta(days=14)
    page.locator("#goals-0-due-on-day").fill(str(due.day))
    page.locator("#goals-0-due-on-month").fill(str(due.month))
    page.locator("#goals-0-due-on-year").fill(str(due.year))
    page.get_by_label("The client has agreed this plan").check()
    page.get_by_role("button", name="Save the plan").click()
    expect(page).to_have_url(f"{web_url}/cases/{case_id}#plan")
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Plan saved and plan agreed with the client"
    )
    expect(page.locator("#plan-status")).to_contain_text("Agreed")
    expect(page.locator("#plan")).to_be_visible()

    # A review: the first one due, continued.
    page.locator("#review-list").get_by_role(
        "link", name=re.compile("Complete review")
    ).first.click()
    expect(page.locator("h1")).to_contain_text("review")
    assert_accessible(page)
    page.get_by_label("Continue").check()
    page.locator("#notes").fill("Engaging well; arrears falling")
    page.get_by_role("button", name="Complete review").click()
    expect(page).to_have_url(f"{web_url}/cases/{case_id}#reviews")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Review completed")
    expect(page.locator("#review-list")).to_contain_text("Engaging well; arrears falling")

    timeline = page.locator("#case-timeline")
    for happened in (
        "Review completed: continue",
        "Support plan agreed with the client",
        "Needs assessed",
        "Contact: home visit",
        "Support case opened",
        "Allocated to cw-web-jo",
        "Referral received",
    ):
        expect(timeline).to_contain_text(happened)
    titles = timeline.locator(".moj-timeline__title").all_inner_texts()
    assert titles[0] == "Review completed: continue", titles
    assert titles[-1] == "Referral received", titles
    assert_accessible(page)
    screenshot(page, "case-page")


@pytest.mark.timeout(600)
def test_a_caseworker_of_another_team_is_refused_the_case(
    page: Page, web_url: str, identities: Identities, case_id: str
) -> None:
    wyn = person(
        identities,
        "test.web.casework.wyn",
        ORG,
        ["caseworker"],
        teams=[WEST],
        caseworker_id="cw-web-wyn",
        name="Wyn Caseworker",
    )
    sign_in(page, web_url, wyn)
    page.goto(f"{web_url}/cases/{case_id}")
    expect(page.locator("h1")).to_have_text("Page not found")
    body = page.locator("main").inner_text()
    assert "Alex" not in body and "Morgan" not in body and "1984" not in body
    assert_accessible(page)
    for form in ("contacts/new", "plan", "close"):
        page.goto(f"{web_url}/cases/{case_id}/{form}")
        expect(page.locator("h1")).to_have_text("Page not found")
        assert "Morgan" not in page.locator("main").inner_text()
    page.goto(f"{web_url}/caseload")
    expect(page.locator("#no-cases")).to_have_text("You have no open cases.")
    assert_accessible(page)
    sign_out(page)

    # Someone whose account is no caseworker's is told why they have no caseload.
    manager = person(identities, "test.web.casework.manager", ORG, ["service-manager"])
    sign_in(page, web_url, manager, "/caseload")
    expect(page.locator("#no-caseload")).to_contain_text("not set up as a caseworker")
    assert_accessible(page)
