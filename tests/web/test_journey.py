"""The whole journey in one browser, as three people of one council, against the real stack
and the real identity provider: Priya (housing options) refers Sam Rivers through the form;
the allocator gives the case to Kim; Abi, the team leader, moves it to Jo with a reason; Jo
draws up and agrees the plan, completes the first review, and closes the case; Priya then sees
on her referral that it closed and why."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from devstack.identities import Identities
from devstack.platform import Platform
from tests.web.browser import assert_accessible, person, screenshot, sign_in, sign_out
from tests.web.seeding import ApiSeed, eventually

pytestmark = pytest.mark.integration

ORG = "derby-council"
TEAM = "journey-team"
KIM, JO = "cw-journey-kim", "cw-journey-jo"
SKILLS = ["generalist", "mental_health"]


class Seed(ApiSeed):
    def __init__(self, platform: Platform) -> None:
        super().__init__(platform, ORG)

    def lead_worker(self, case_id: str) -> str | None:
        answer = self.get("allocation", f"/cases/{case_id}")
        allocation = (answer.json() if answer.status_code == 200 else {}).get("allocation")
        return (allocation or {}).get("worker_id")


def fill_date(page: Page, field: str, day: date) -> None:
    page.locator(f"#{field}-day").fill(str(day.day))
    page.locator(f"#{field}-month").fill(str(day.month))
    page.locator(f"#{field}-year").fill(str(day.year))


def refer_sam(page: Page) -> str:
    """Priya's part: the referral form, sent once; returns the referral's id."""
    expect(page.locator("h1")).to_have_text("Make a referral")
    page.locator("#given-name").fill("Sam")
    page.locator("#family-name").fill("Rivers")
    fill_date(page, "date-of-birth", date(1991, 7, 23))
    page.locator("#ni-number").fill("QQ 55 44 33 B")
    page.locator("#address-line-1").fill("4 Canal Walk")
    page.locator("#address-postcode").fill("DE1 3QQ")
    page.locator("#mobile").fill("07700900777")
    page.locator("input[name='support_needs'][value='mental_health']").check()
    page.locator("input[name='support_needs'][value='budgeting_debt']").check()
    page.locator("input[name='risk_level'][value='medium']").check()
    page.locator("input[name='legal_stage'][value='notice_served']").check()
    fill_date(page, "date-facing-homelessness", date.today() + timedelta(days=40))
    page.locator("#consent-to-record").check()
    page.locator("#consent-share-with").fill("derby-homes")
    page.locator("input[name='consent_purposes'][value='referral-status']").check()
    page.locator("#source").select_option("housing_officer")
    page.locator("#referrer-reference").fill("HO-JOURNEY-1")
    page.locator("#referring-area").fill("Derby")
    page.locator("input[name='recourse_to_public_funds'][value='yes']").check()
    page.get_by_role("button", name="Send referral").click()
    expect(page).to_have_url(re.compile(r"/referrals/ref-[\w-]+$"))
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Referral sent")
    expect(page.locator(".govuk-caption-l")).to_have_text("Sam Rivers")
    return page.url.rsplit("/", 1)[-1]


@pytest.mark.timeout(1200)  # one long journey across three people, on a shared machine
def test_referral_allocation_plan_review_and_closure_by_three_people(
    page: Page, web_url: str, identities: Identities, module_platform: Platform
) -> None:
    seed = Seed(module_platform)
    seed.team(TEAM, "Journey team", "Abi Leader")
    seed.worker(KIM, TEAM, "Kim Adeyemi", SKILLS, 20)

    # 1. The referrer.
    priya = person(
        identities,
        "test.web.journey.priya",
        ORG,
        ["team-leader"],
        teams=["housing-options"],
        name="Priya Shah",
    )
    sign_in(page, web_url, priya, "/referrals/new")
    assert_accessible(page)
    case_id = refer_sam(page)
    assert_accessible(page)
    screenshot(page, "journey-1-referral-sent")
    eventually(lambda: seed.lead_worker(case_id) == KIM, "the case allocated to Kim", 120)
    page.reload()
    expect(page.locator("main")).to_contain_text(KIM)
    sign_out(page)

    # 2. The team leader moves the case to Jo, who has just joined the team.
    seed.worker(JO, TEAM, "Jo Caseworker", SKILLS, 20)
    abi = person(
        identities, "test.web.journey.abi", ORG, ["team-leader"], teams=[TEAM], name="Abi Leader"
    )
    sign_in(page, web_url, abi, "/team")
    kim = page.locator(f"#worker-{KIM}")
    expect(kim.locator(f"li[data-case-id='{case_id}']")).to_be_visible()
    assert_accessible(page)
    kim.locator(f"li[data-case-id='{case_id}'] a", has_text="Reallocate").click()
    expect(page.locator("h1")).to_have_text("Reallocate this case")
    page.get_by_label("Change of caseworker").check()
    page.get_by_label("Jo Caseworker").check()
    page.get_by_role("button", name="Reallocate case").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        f"Case {case_id} reallocated to Jo Caseworker"
    )
    expect(page.locator(f"#worker-{JO} li[data-case-id='{case_id}']")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "journey-2-reallocated")
    sign_out(page)

    # 3. The caseworker: her caseload, the plan, the review, the closure.
    jo = person(
        identities,
        "test.web.journey.jo",
        ORG,
        ["caseworker"],
        teams=[TEAM],
        caseworker_id=JO,
        name="Jo Caseworker",
    )
    sign_in(page, web_url, jo, "/caseload")
    row = page.locator(f"#caseload tr[data-case-id='{case_id}']")
    expect(row).to_contain_text("Sam Rivers")
    row.get_by_role("link", name="Sam Rivers").click()
    expect(page.locator("h1")).to_have_text("Sam Rivers")
    expect(page.locator("#case-timeline")).to_contain_text(f"Reallocated to {JO}")

    page.get_by_role("button", name="Draw up the plan").click()
    page.locator("#need-mental-health").select_option("medium")
    page.locator("#need-budgeting-and-arrears").select_option("high")
    page.locator("#goals-0-domain").select_option("budgeting_and_arrears")
    page.locator("#goals-0-goal").fill("Rent account back in credit")
    page.locator("#goals-0-action").fill("Set up a repayment plan with the landlord")
    page.locator("#goals-0-owner").select_option("client")
    fill_date(page, "goals-0-due-on", date.today() + timedelta(days=21))
    page.get_by_label("The client has agreed this plan").check()
    page.get_by_role("button", name="Save the plan").click()
    expect(page.locator("#plan-status")).to_contain_text("Agreed")

    page.locator("#review-list").get_by_role(
        "link", name=re.compile("Complete review")
    ).first.click()
    page.get_by_label("Continue").check()
    page.locator("#notes").fill("Repayment plan holding; arrears down by half")
    page.get_by_role("button", name="Complete review").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Review completed")

    page.goto(f"{web_url}/cases/{case_id}/close")
    expect(page.locator("h1")).to_contain_text("Close the case")
    assert_accessible(page)
    page.locator("#reason").select_option("tenancy_sustained")
    page.locator("input[name='tenancy_outcome'][value='sustained']").check()
    page.locator("#closure-notes").fill("Arrears cleared; Sam is managing the account")
    page.get_by_role("button", name="Close the case").click()
    expect(page).to_have_url(f"{web_url}/cases/{case_id}#closure")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Case closed")
    closure = page.locator("#closure").locator("xpath=..")
    expect(closure).to_contain_text("Tenancy sustained")
    expect(closure).to_contain_text("Arrears cleared; Sam is managing the account")
    timeline = page.locator("#case-timeline")
    for happened in ("Review completed: continue", "Support plan agreed with the client"):
        expect(timeline).to_contain_text(happened)
    assert_accessible(page)
    screenshot(page, "journey-3-closed")
    sign_out(page)

    # 4. The referrer learns how it ended, on the referral she made.
    sign_in(page, web_url, priya, f"/referrals/{case_id}")

    def closed_on_the_referral() -> bool:
        page.reload()
        return "Tenancy sustained" in page.locator("main").inner_text()

    eventually(closed_on_the_referral, "the closure on Priya's referral", timeout=120)
    expect(page.locator("main")).to_contain_text("Sustained")
    assert_accessible(page)
    screenshot(page, "journey-4-referral-closed")
