"""The team leader's pages in a real browser against the real stack: the waiting list with the
reasons for each score, capacity per caseworker and team, and reallocating a case with a
reason (the GOV.UK error summary first). A caseworker is refused the waiting list."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from devstack.identities import Identities
from devstack.platform import Platform
from tests.referral.factories import referral_json
from tests.web.browser import assert_accessible, person, screenshot, sign_in
from tests.web.seeding import ApiSeed, eventually

pytestmark = pytest.mark.integration

ORG = "derby-council"
EAST, WEST = "team-east", "team-west"
# Days until each mental-health referral faces homelessness: the nearer, the higher it ranks.
URGENT, SOON, LATER, DISTANT = 3, 20, 50, 200


class Seed(ApiSeed):
    """Teams, caseworkers and referrals through the real APIs, as a service manager."""

    def __init__(self, platform: Platform) -> None:
        super().__init__(platform, ORG)
        self.cases: dict[int, str] = {}  # days facing homelessness -> case id
        self.generalist_case = ""

    def referral(self, n: int, needs: list[str], facing_in_days: int) -> str:
        body = referral_json(
            support_needs=needs,
            urgency={
                "date_facing_homelessness": (date.today() + timedelta(facing_in_days)).isoformat(),
                "legal_stage": "notice_served",
            },
        )
        body["person"].update(
            given_name=f"Teamtest{chr(65 + n)}",
            family_name=f"Person{n}",
            date_of_birth=f"198{n}-0{n + 1}-1{n}",
            ni_number=f"QQ 12 34 5{n} C",
        )
        return self.refer(body)

    def waiting(self) -> list[dict[str, Any]]:
        entries = self.json("allocation", "/waiting-list")["entries"]
        return [e for e in entries if e["kind"] == "waiting"]

    def cases_of(self, worker_id: str) -> list[str]:
        return list(self.json("allocation", f"/caseworkers/{worker_id}")["cases"])


@pytest.fixture(scope="module")
def seeded(module_platform: Platform, identities: Identities) -> Seed:
    """Two teams. Ben (generalist) and Cara have room, but no one leads mental-health cases
    until Asha joins with 4 hours: she takes the two most urgent, two wait for her."""
    seed = Seed(module_platform)
    seed.team(EAST, "East prevention", "Abi Leader")
    seed.team(WEST, "West sustainment", "Wyn Leader")
    seed.worker("cw-ben", EAST, "Ben Okafor", ["generalist"], 6)
    seed.worker("cw-cara", WEST, "Cara Lind", ["generalist"], 4)
    mental_health = ["mental_health", "budgeting_debt"]
    for n, days in enumerate((URGENT, SOON, LATER, DISTANT)):
        seed.cases[days] = seed.referral(n, mental_health, days)
    seed.generalist_case = seed.referral(5, ["budgeting_debt"], 30)
    eventually(lambda: len(seed.waiting()) == 4, "four mental-health cases waiting")
    eventually(
        lambda: (
            seed.generalist_case in seed.cases_of("cw-ben")
            or seed.generalist_case in seed.cases_of("cw-cara")
        ),
        "the generalist case allocated",
    )
    seed.worker("cw-asha", EAST, "Asha Patel", ["mental_health", "generalist"], 4)
    eventually(lambda: len(seed.cases_of("cw-asha")) == 2, "Asha takes two cases")
    return seed


def test_team_leader_reads_the_waiting_list_and_capacity_and_reallocates(
    page: Page, web_url: str, identities: Identities, seeded: Seed
) -> None:
    # A reallocation answers once the allocator's pass has placed what the freed hours allow
    # (services/allocation/allocator.py): seconds on a loaded machine, not milliseconds.
    page.set_default_timeout(60_000)
    leader = person(
        identities, "test.web.team.leader", ORG, ["team-leader"], teams=[EAST], name="Abi Leader"
    )
    sign_in(page, web_url, leader, "/waiting-list")

    # The waiting list: the two cases Asha had no room for, in order, with their reasons.
    expect(page.locator("h1")).to_have_text("Waiting list")
    rows = page.locator("#waiting-list tbody tr[data-kind='waiting']")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-case-id", seeded.cases[LATER])
    expect(rows.nth(1)).to_have_attribute("data-case-id", seeded.cases[DISTANT])
    expect(rows.nth(0).locator(".hearth-position")).to_contain_text("1")
    expect(rows.nth(1).locator(".hearth-position")).to_contain_text("2")
    first_reasons = rows.nth(0).locator(".hearth-reason")
    expect(first_reasons.filter(has_text="Facing homelessness within 56 days")).to_contain_text(
        "+10"
    )
    expect(first_reasons.filter(has_text="Legal stage: notice served")).to_contain_text("+10")
    expect(rows.nth(0)).to_contain_text("Mental health")
    expect(rows.nth(0)).to_contain_text("2 hours a week")
    expect(rows.nth(0)).to_contain_text("mental-health caseworker with 2 h free")
    first = float(rows.nth(0).locator(".hearth-score").inner_text())
    second = float(rows.nth(1).locator(".hearth-score").inner_text())
    assert first > second
    expect(page.locator("#navigation")).to_contain_text("Waiting list")
    screenshot(page, "waiting-list")
    assert_accessible(page)

    # Capacity: hours committed against contracted, per caseworker and per team.
    page.locator("#navigation a", has_text="Team").click()
    expect(page.locator("h1")).to_have_text("Team capacity")
    asha = page.locator("#worker-cw-asha")
    expect(asha.locator(".hearth-committed")).to_have_text("4 (100%)")
    expect(asha.locator(".hearth-contracted")).to_have_text("4")
    expect(asha.locator(".hearth-caseload")).to_have_text("2 of 10")
    expect(asha).to_contain_text("Full")
    ben = page.locator("#worker-cw-ben")
    expect(ben.locator(".hearth-contracted")).to_have_text("6")
    east = page.locator("#team-team-east")
    expect(east.locator("h2")).to_contain_text("Your team")
    expect(east.locator(".govuk-summary-list")).to_contain_text("contracted hours a week")
    expect(page.locator("#team-team-west")).to_contain_text("Cara Lind")
    expect(page.locator("#reviews-due-heading")).to_be_visible()
    screenshot(page, "team-capacity")
    assert_accessible(page)

    # Reallocate the most urgent case from Asha to Ben, with a reason.
    moving = seeded.cases[URGENT]
    asha.locator(f"li[data-case-id='{moving}'] a", has_text="Reallocate").click()
    expect(page).to_have_url(re.compile(rf"/cases/{re.escape(moving)}/reallocate$"))
    expect(page.locator("h1")).to_have_text("Reallocate this case")
    assert_accessible(page)
    page.get_by_role("button", name="Reallocate case").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.locator("a[href='#reason']")).to_have_text(
        "Select why the case is being reallocated"
    )
    expect(summary.locator("a[href='#to-worker-id']")).to_have_text(
        "Select the caseworker who will take the case"
    )
    assert page.title().startswith("Error: ")
    expect(page.locator("#reason-error")).to_be_visible()
    screenshot(page, "reallocate-errors")
    assert_accessible(page)
    summary.locator("a[href='#reason']").click()
    expect(page.locator("#reason")).to_be_focused()

    page.get_by_label("Change of caseworker").check()
    page.get_by_label("Ben Okafor").check()
    page.get_by_role("button", name="Reallocate case").click()
    expect(page).to_have_url(re.compile(r"/team$"))
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        f"Case {moving} reallocated to Ben Okafor"
    )
    expect(page.locator(f"#worker-cw-ben li[data-case-id='{moving}']")).to_be_visible()
    expect(page.locator(f"#worker-cw-asha li[data-case-id='{moving}']")).to_have_count(0)
    assert_accessible(page)
    # The hours freed go to the first case on the waiting list, automatically.
    eventually(lambda: seeded.cases[LATER] in seeded.cases_of("cw-asha"), "the next case placed")


def test_a_caseworker_has_no_waiting_list(
    page: Page, web_url: str, identities: Identities, seeded: Seed
) -> None:
    worker = person(
        identities,
        "test.web.team.caseworker",
        ORG,
        ["caseworker"],
        teams=[EAST],
        caseworker_id="cw-ben",
        name="Ben Okafor",
    )
    sign_in(page, web_url, worker)
    expect(page.locator("#navigation")).not_to_contain_text("Waiting list")
    expect(page.locator("#navigation a", has_text="Team")).to_have_count(0)
    assert_accessible(page)
    answer = page.goto(f"{web_url}/waiting-list")
    assert answer is not None and answer.status == 403
    expect(page.locator("h1")).to_have_text("You do not have access to this")
    expect(page.locator("table")).to_have_count(0)
    assert_accessible(page)
    answer = page.goto(f"{web_url}/cases/{seeded.cases[SOON]}/reallocate")
    assert answer is not None and answer.status == 403
    assert_accessible(page)
