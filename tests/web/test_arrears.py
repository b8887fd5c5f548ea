"""The housing association income officer in a real browser against the real stack: an arrears
CSV with one bad row uploaded and watched to the end, each row's result, the tenancies at risk
and what each caused; the risk rules read and changed by a service manager."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from devstack.identities import Identities
from tests.web.browser import assert_accessible, person, screenshot, sign_in

LANDLORD = "derby-homes"
CSV = (
    "tenancy_reference,arrears_balance,weekly_rent,weeks_in_arrears,legal_stage,asb_issues\n"
    "DH-101,900,100,9,none,no\n"  # high: a prevention referral
    "DH-102,650,100,6.5,none,no\n"  # medium: a prevention referral
    "DH-103,40,100,0.4,none,no\n"  # low: recorded, nothing signalled
    "DH-104,lots,100,3,none,no\n"  # the bad row: line 5, column arrears_balance
    "DH-105,700,100,7,possession_order,no\n"  # critical
)


def test_an_income_officer_uploads_a_csv_with_a_bad_row_and_follows_what_it_caused(
    page: Page, web_url: str, identities: Identities
) -> None:
    officer = person(
        identities, "test.web.arrears.officer", LANDLORD, ["income-officer"], name="Imran Shah"
    )
    sign_in(page, web_url, officer, "/arrears")
    expect(page.locator("h1")).to_have_text("Upload an arrears file")
    expect(page.locator("#navigation a[href='/arrears']")).to_have_attribute("aria-current", "page")
    expect(page.locator("#navigation a[href='/caseload']")).to_have_count(0)
    assert_accessible(page)

    # No file chosen: the GOV.UK error summary names the field and links to it.
    page.get_by_role("button", name="Upload file").click()
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.locator(".govuk-error-summary a[href='#file']")).to_have_text("Select a CSV file")
    expect(page.locator("#file-error")).to_contain_text("Select a CSV file")
    assert_accessible(page)

    page.locator("#file").set_input_files(
        files=[{"name": "derby-homes-arrears.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    page.get_by_role("button", name="Upload file").click()
    page.wait_for_url(re.compile(r".*/arrears/uploads/[A-Za-z0-9._:-]+$"))
    assert "DH-10" not in page.url  # no tenancy reference in an address
    expect(page.locator("h1")).to_have_text("derby-homes-arrears.csv")
    screenshot(page, "arrears-progress")
    assert_accessible(page)

    # htmx fetches the progress every second and stops at the fragment marked done.
    done = page.locator("#upload-progress[data-hearth-done]")
    expect(done).to_be_visible(timeout=60_000)
    expect(page.locator("#upload-progress[hx-get]")).to_have_count(0)
    expect(page.locator("#upload-status")).to_contain_text("Completed")
    expect(page.locator("#upload-meter")).to_have_attribute("value", "100")
    counts = page.locator("#upload-counts")
    expect(counts.locator("[data-count='rejected'] dd")).to_have_text("1")
    expect(counts.locator("[data-count='referrals'] dd")).to_have_text("3")

    bad = page.locator("#rejected-rows tbody tr")
    expect(bad).to_have_count(1)
    expect(bad.first).to_have_attribute("data-line", "5")
    expect(bad.first.locator("td").nth(1)).to_have_text("arrears_balance")
    expect(bad.first).to_contain_text("DH-104")

    rows = page.locator("#row-results tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.first).to_have_attribute("data-status", "rejected")  # rejected rows first
    expect(page.locator("#row-results tr[data-status='accepted']")).to_have_count(3)
    expect(page.locator("#row-results tr[data-line='2']")).to_contain_text(
        "Prevention referral raised"
    )
    expect(page.locator("#row-results tr[data-line='4']")).to_contain_text("Unchanged")
    screenshot(page, "arrears-upload-result")
    assert_accessible(page)

    # Without JavaScript's help the same page is a plain link away, filtered to one status.
    page.locator(".moj-sub-navigation__link", has_text="Rejected (1)").click()
    expect(page.locator("#row-results tbody tr")).to_have_count(1)
    expect(page.locator("#row-results tbody tr")).to_have_attribute("data-line", "5")
    assert_accessible(page)

    page.get_by_role("link", name="See the tenancies at risk and what happened to each").click()
    expect(page.locator("h1")).to_have_text("Tenancies at risk")
    tenancies = page.locator("#tenancies tbody tr")
    expect(tenancies).to_have_count(4)  # the bad row recorded nothing
    high = tenancies.filter(has_text="DH-101")
    expect(high).to_contain_text("High")
    expect(high).to_contain_text("£900.00")
    expect(high).to_contain_text("9")
    expect(high).to_contain_text("Prevention referral raised")
    expect(tenancies.filter(has_text="DH-105")).to_contain_text("Critical")
    expect(tenancies.filter(has_text="DH-103")).to_contain_text(
        "Recorded: below the level that raises a signal"
    )
    expect(page.locator("#tenancies tr[data-tenancy-id^='derby-homes:']")).to_have_count(4)
    screenshot(page, "arrears-tenancies")
    assert_accessible(page)

    # Not a caseworker: no caseload, and no risk rules (settings are the managers').
    answer = page.goto(f"{web_url}/caseload")
    assert answer is not None and answer.status == 403
    assert_accessible(page)
    answer = page.goto(f"{web_url}/arrears/risk-rules")
    assert answer is not None and answer.status == 403
    expect(page.locator("h1")).to_have_text("You do not have access to this")
    assert_accessible(page)


def test_a_service_manager_changes_the_risk_rules_with_errors_shown_first(
    page: Page, web_url: str, identities: Identities
) -> None:
    manager = person(
        identities, "test.web.arrears.manager", LANDLORD, ["service-manager"], name="Grace Okafor"
    )
    sign_in(page, web_url, manager, "/arrears/risk-rules")
    expect(page.locator("h1")).to_have_text("Risk rules")
    expect(page.locator("#weeks-medium")).to_have_value("4")
    expect(page.locator("#weeks-high")).to_have_value("8")
    assert_accessible(page)

    page.locator("#weeks-high").fill("3")  # below medium: the API refuses it
    page.locator("#balance-medium").fill("lots")  # not a number: the page refuses it first
    page.get_by_role("button", name="Save risk rules").click()
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.locator(".govuk-error-summary a[href='#balance-medium']")).to_contain_text(
        "must be a number"
    )
    expect(page.locator("#weeks-high")).to_have_value("3")  # nothing typed is lost
    assert_accessible(page)

    page.locator("#balance-medium").fill("400")
    page.get_by_role("button", name="Save risk rules").click()
    expect(page.locator(".govuk-error-summary a[href='#weeks-high']")).to_contain_text(
        "Must not be below weeks in arrears for medium risk"
    )
    assert_accessible(page)

    page.locator("#weeks-high").fill("6")
    page.get_by_role("button", name="Save risk rules").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Risk rules saved")
    expect(page.locator("#weeks-high")).to_have_value("6")
    expect(page.locator("#balance-medium")).to_have_value("400")
    screenshot(page, "arrears-risk-rules")
    assert_accessible(page)
