"""The service manager's dashboard, the admins' settings, the notifications sent and the Today
page for each role, in a real browser against the real stack. Teams, caseworkers and referrals
are seeded through the real APIs; a case is escalated and another closed, so every chart has
figures to show. A caseworker is refused the dashboard and the settings."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from devstack.identities import Identities
from devstack.platform import Platform
from tests.referral.factories import referral_json
from tests.web.browser import assert_accessible, person, screenshot, sign_in
from tests.web.seeding import ApiSeed, eventually

# The platform and the seeding share the first test's time on a machine other suites also use.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ORG = "derby-council"
EAST, WEST = "mgr-east", "mgr-west"
JO, SAM = "mgr-jo", "mgr-sam"  # Jo leads mental-health cases (East), Sam substance misuse (West)


class Seed(ApiSeed):
    """Teams, caseworkers and cases through the real APIs, as the organisation's staff."""

    def __init__(self, platform: Platform) -> None:
        super().__init__(platform, ORG)
        self.cases: list[str] = []
        self.waiting_case = ""
        self.escalated = ""
        self.closed = ""

    def referral(self, n: int, needs: list[str]) -> str:
        body = referral_json(
            support_needs=needs,
            urgency={
                "date_facing_homelessness": (date.today() + timedelta(30 + n)).isoformat(),
                "legal_stage": "notice_served",
            },
        )
        body["person"].update(
            given_name=f"Managertest{chr(65 + n)}",
            family_name=f"Person{n}",
            date_of_birth=f"197{n}-0{n + 1}-1{n}",
            ni_number=f"QQ 22 34 5{n} C",
        )
        return self.refer(body)

    def support_case(self, case_id: str) -> dict[str, Any] | None:
        answer = self.get("support", f"/cases/{case_id}")
        return answer.json() if answer.status_code == 200 else None


@pytest.fixture(scope="module")
def seeded(module_platform: Platform, identities: Identities) -> Seed:
    """Two teams (50 contracted hours); two mental-health cases go to Jo, one substance-misuse
    case to Sam, and a young person's case waits (nobody leads those). Jo's first case is
    escalated (high risk), his second closed (plan achieved, tenancy sustained)."""
    seed = Seed(module_platform)
    seed.team(EAST, "East sustainment", "Abi Leader")
    seed.team(WEST, "West sustainment", "Wyn Leader")
    seed.worker(JO, EAST, "Jo Caseworker", ["mental_health"], 30)
    seed.worker(SAM, WEST, "Sam Caseworker", ["substance_misuse"], 20)
    seed.cases = [
        seed.referral(0, ["mental_health", "budgeting_debt"]),
        seed.referral(1, ["mental_health", "budgeting_debt"]),
        seed.referral(2, ["drug_dependency", "budgeting_debt"]),
    ]
    seed.waiting_case = seed.referral(3, ["young_person_18_25", "budgeting_debt"])
    opened = eventually(
        lambda: all(seed.support_case(c) for c in seed.cases) and seed.cases,
        "three support cases opened",
    )
    assert opened
    first, second = seed.cases[0], seed.cases[1]
    assert seed.support_case(first)["lead_worker_id"] == JO  # type: ignore[index]
    flag = {"risk_level": "high", "reasons": ["rent arrears rising"], "flagged_by": JO}
    seed.post("support", f"/cases/{first}/escalate", flag, created=False)
    seed.escalated = first
    closure = {"reason": "plan_achieved", "tenancy_outcome": "sustained", "closed_by": JO}
    seed.post("support", f"/cases/{second}/close", closure, created=False)
    seed.closed = second
    eventually(
        lambda: seed.get("referral", f"/referrals/{second}").json()["status"] == "closed",
        "the closed case's referral to read closed",
    )
    eventually(
        lambda: seed.get("allocation", "/capacity").json()["organisation_totals"]["waiting"] == 1,
        "the young person's case waiting",
    )
    return seed


def row(table: Locator, label: str) -> Locator:
    return table.locator("tbody tr", has=table.page.locator("th", has_text=label))


def test_service_manager_reads_the_dashboard_with_charts_and_tables(
    page: Page, web_url: str, identities: Identities, seeded: Seed
) -> None:
    manager = person(
        identities, "test.web.manager.sm", ORG, ["service-manager"], name="Morgan Manager"
    )
    sign_in(page, web_url, manager, "/dashboard")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("#navigation")).to_contain_text("Dashboard")
    expect(page.locator("#figure-waiting")).to_have_text("1")

    # Demand against capacity: the chart is an image with its title, the table beside it.
    capacity = page.locator("#chart-capacity")
    expect(capacity.locator("svg[role='img'] title")).to_have_text(
        "Demand against capacity (hours a week)"
    )
    expect(row(capacity.locator("table"), "Contracted").locator("td")).to_have_text("50")
    teams = page.locator("#chart-teams-table")
    expect(teams).to_contain_text("East sustainment")
    expect(teams).to_contain_text("West sustainment")
    expect(page.locator("#teams-table")).to_contain_text("East sustainment")

    # Referrals this week (four), the one waiting case, the escalation and the closure.
    demand = page.locator("#chart-demand-table tbody tr")
    expect(demand).to_have_count(8)
    expect(demand.last.locator("td")).to_have_text("4")
    expect(row(page.locator("#chart-waits-table"), "Under 1 day").locator("td")).to_have_text("1")
    expect(row(page.locator("#chart-escalations-table"), "High").locator("td")).to_have_text("1")
    expect(page.locator("#escalated-cases-table")).to_contain_text(seeded.escalated)
    closures = page.locator("#chart-closures-table")
    expect(row(closures, "Plan achieved").locator("td")).to_have_text("1")
    expect(row(page.locator("#chart-outcomes-table"), "Sustained").locator("td")).to_have_text("1")
    expect(page.locator("#closures-source")).to_contain_text("closed referrals")
    expect(page.locator("#chart-reviews-table")).to_contain_text("Overdue")
    expect(page.locator("svg.hearth-chart")).to_have_count(8)
    screenshot(page, "dashboard")
    assert_accessible(page)

    # Notifications sent about the escalated case, and one delivery's own page.
    page.locator("#navigation a", has_text="Notifications").click()
    expect(page.locator("h1")).to_have_text("Notifications sent")
    assert_accessible(page)
    page.locator("#case-id").fill(seeded.escalated)
    page.get_by_role("button", name="Show notifications").click()
    expect(page.locator("#deliveries-table caption")).to_contain_text(seeded.escalated)
    rows = page.locator("#deliveries-table tbody tr[data-delivery]")
    eventually(lambda: _reload_until(page, rows), "a notification about the case")
    assert_accessible(page)
    rows.first.locator("td").nth(2).locator("a").click()
    expect(page.locator("#delivery-summary")).to_contain_text(seeded.escalated)
    expect(page.locator("#attempts-table")).to_be_visible()
    screenshot(page, "notification")
    assert_accessible(page)

    # Today for a manager: the headline figures.
    page.locator("#navigation a", has_text="Today").click()
    expect(page.locator("#today-headlines")).to_contain_text("Cases waiting")
    expect(page.locator("#today-deliveries")).to_be_visible()
    assert_accessible(page)


def _reload_until(page: Page, rows: Locator) -> bool:
    if rows.count():
        return True
    page.reload()
    return rows.count() > 0


def test_admin_changes_a_template_and_a_channel_after_an_error(
    page: Page, web_url: str, identities: Identities, seeded: Seed
) -> None:
    admin = person(
        identities, "test.web.manager.admin", ORG, ["organisation-admin"], name="Ada Admin"
    )
    sign_in(page, web_url, admin, "/")
    expect(page.locator("#today-held-flows")).to_be_visible()
    expect(page.locator("#today-agreements")).to_be_visible()
    assert_accessible(page)

    page.locator("#navigation a", has_text="Settings").click()
    expect(page.locator("h1")).to_have_text("Settings")
    assert_accessible(page)
    page.locator("#settings-sections a", has_text="Message templates").click()
    expect(page.locator("h1")).to_have_text("Message templates")
    assert_accessible(page)
    first = page.locator("#templates-table tbody tr").first
    key = first.get_attribute("data-template")
    first.locator("th a").click()

    # A blank subject: the error summary names it and links to it; the message is kept.
    page.locator("#subject").fill("")
    page.locator("#body").fill("Hello ((name)), your case has moved on.")
    page.get_by_role("button", name="Save template").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.locator("a[href='#subject']")).to_have_text("Enter a subject")
    expect(page.locator("#subject-error")).to_be_visible()
    expect(page.locator("#body")).to_have_value("Hello ((name)), your case has moved on.")
    assert page.title().startswith("Error: ")
    assert_accessible(page)
    page.locator("#subject").fill("Derby: an update on your case")
    page.get_by_role("button", name="Save template").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("saved")
    customised = page.locator(f"#templates-table tr[data-template='{key}']")
    expect(customised).to_contain_text("Derby: an update on your case")
    expect(customised).to_contain_text("Your own")
    screenshot(page, "settings-templates")
    assert_accessible(page)

    # Channels: a notices address that is not an email address, then a good one.
    page.locator(".moj-sub-navigation a", has_text="Notification channels").click()
    expect(page.locator("h1")).to_have_text("Notification channels")
    assert_accessible(page)
    page.locator("#notice-email").fill("notices at derby")
    page.get_by_role("button", name="Save settings").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.locator("a[href='#notice-email']")).to_contain_text("correct format")
    expect(page.locator("#notice-email")).to_have_value("notices at derby")
    assert page.title().startswith("Error: ")
    assert_accessible(page)
    page.locator("#notice-email").fill("notices@derby-council.test")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("saved")
    expect(page.locator("#notice-email")).to_have_value("notices@derby-council.test")
    assert_accessible(page)
    saved = seeded.get("notifications", "/settings").json()
    assert saved["notice_email"] == "notices@derby-council.test"

    # Agreements: none yet, and a proposal with the error summary first.
    page.locator(".moj-sub-navigation a", has_text="Data-sharing agreements").click()
    expect(page.locator("h1")).to_have_text("Data-sharing agreements")
    assert_accessible(page)
    page.locator("#propose-agreement").click()
    page.get_by_role("button", name="Propose agreement").click()
    expect(page.locator(".govuk-error-summary a[href='#purpose']")).to_be_visible()
    assert_accessible(page)


def test_today_for_a_caseworker_a_team_leader_and_an_income_officer(
    page: Page, web_url: str, identities: Identities, seeded: Seed
) -> None:
    worker = person(
        identities,
        "test.web.manager.jo",
        ORG,
        ["caseworker"],
        teams=[EAST],
        caseworker_id=JO,
        name="Jo Caseworker",
    )
    sign_in(page, web_url, worker, "/")
    expect(page.locator("h1")).to_have_text("Today")
    expect(page.locator("#today-my-reviews-count")).to_contain_text("reviews due")
    expect(page.locator("#today-escalations")).to_contain_text(seeded.escalated)
    expect(page.locator("#today-waiting-list")).to_have_count(0)
    expect(page.locator("#today-headlines")).to_have_count(0)
    nav = page.locator("#navigation")
    expect(nav.locator("a[href='/dashboard']")).to_have_count(0)
    expect(nav.locator("a[href='/settings']")).to_have_count(0)
    screenshot(page, "today-caseworker-blocks")
    assert_accessible(page)
    for refused in ("/dashboard", "/settings", "/settings/templates", "/notifications"):
        answer = page.goto(f"{web_url}{refused}")
        assert answer is not None and answer.status == 403, refused
        expect(page.locator("h1")).to_have_text("You do not have access to this page")
    assert_accessible(page)
    page.context.clear_cookies()

    leader = person(
        identities, "test.web.manager.abi", ORG, ["team-leader"], teams=[EAST], name="Abi Leader"
    )
    sign_in(page, web_url, leader, "/")
    expect(page.locator("#today-waiting-count")).to_contain_text("1 case waiting")
    expect(page.locator("#today-team-reviews")).to_be_visible()
    expect(page.locator("#today-escalations")).to_contain_text(seeded.escalated)
    expect(page.locator("#today-my-reviews")).to_have_count(0)  # no caseload of his own
    screenshot(page, "today-team-leader")
    assert_accessible(page)
    page.context.clear_cookies()

    officer = person(
        identities,
        "test.web.manager.income",
        "derby-homes",
        ["income-officer"],
        name="Ike Income",
    )
    sign_in(page, web_url, officer, "/")
    arrears = page.locator("#today-arrears")
    expect(arrears.locator("a[href='/arrears']")).to_be_visible()
    expect(page.locator("#today-waiting-list")).to_have_count(0)
    expect(page.locator("#today-escalations")).to_have_count(0)
    screenshot(page, "today-income-officer")
    assert_accessible(page)
