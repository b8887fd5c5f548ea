"""A Safe Connections case through its eight phases in a real browser, as its caseworker: the
checklists, a refused advance with its reasons, the local-connection test with its evidence,
the destination, the presentation pack and the Tool 4 closure checklist with its branches. The
case is opened by the real referral and allocation services; what the web app has no form for
(eligibility, the authority contact, risk, travel, budget, Part VII, the day's confidence
check, the handover) is recorded over the reconnection API, and the clock is moved forward
as the end-to-end test of the flow does."""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from devstack.identities import Identities
from devstack.platform import Platform
from tests.e2e.conftest import Api, move_clock
from tests.referral.factories import reconnection_json
from tests.web.browser import assert_accessible, person, screenshot, sign_in

# A long journey on a shared, busy machine: the platform's start, clock moves, many pages.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]
expect.set_options(timeout=60_000)

WORKER = "test.web.reconnection.kim"


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)
    return result


def add_months(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


class Case:
    """The case over the reconnection API, as derby-council's staff."""

    def __init__(self, platform: Platform, api: Api, case_id: str) -> None:
        self.platform = platform
        self.api = api
        self.path = f"/reconnection-cases/{case_id}"
        self.offset = timedelta(0)

    def view(self) -> Any:
        response = self.api.get("reconnection", self.path)
        assert response.status_code == 200, response.text
        return response.json()

    def call(self, method: str, path: str, body: Any) -> Any:
        send = self.api.put if method == "PUT" else self.api.post
        response = send("reconnection", self.path + path, body)
        assert response.status_code == 200, (path, response.text)
        return response.json()

    def today(self) -> date:
        return (datetime.now(UTC) + self.offset).date()

    def move_to(self, moment: datetime) -> None:
        """Every service's clock to `moment`; back once the reconnection service lives there."""
        self.offset = moment - datetime.now(UTC)
        move_clock(self.platform, self.offset)
        before = self.view()["case"]["last_progress_at"]
        last = datetime.fromisoformat(before.replace("Z", "+00:00"))
        last = last if last.tzinfo else last.replace(tzinfo=UTC)
        expected = max(0, (moment - last).days)
        wait_for(
            lambda: self.view()["days_without_progress"] == expected,
            f"the reconnection service's clock at {moment}",
        )


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture(scope="module")
def case_id(module_platform: Platform) -> str:
    """A reconnection referral screened, allocated to Kim and opened in engage."""
    derby = Api(module_platform, "derby-council")
    team = {
        "id": "safe-connections",
        "name": "Safe Connections",
        "team_leader": {"id": "lee", "name": "Lee Leader", "email": "lee@derby-council.test"},
    }
    assert derby.post("allocation", "/teams", team).status_code == 201
    worker = {
        "id": "kim",
        "team_id": "safe-connections",
        "name": "Kim Reconnection",
        "email": "kim@derby-council.test",
        "specialisms": ["reconnection"],
        "contracted_hours": 30,
        "max_caseload": 10,
    }
    assert derby.post("allocation", "/caseworkers", worker).status_code == 201
    response = derby.post("referral", "/referrals", reconnection_json())
    assert response.status_code == 201, response.text
    opened = response.json()["id"]

    def in_engage() -> bool:
        r = derby.get("reconnection", f"/reconnection-cases/{opened}")
        return r.status_code == 200 and r.json()["case"]["phase"] == "engage"

    wait_for(in_engage, "the reconnection case opened in engage", timeout=60)
    return str(opened)


def visit(page: Page, url: str) -> None:
    """Open a page and run axe on it (pages seen before in the same state are just opened)."""
    page.goto(url)
    assert_accessible(page)


def tick(page: Page, phase: str, *items: str) -> None:
    for item in items:
        row = page.locator(f"table[data-phase='{phase}'] tr[data-item='{item}']")
        row.locator("button[data-action='complete']").click()
        expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Done")
        expect(row).to_have_attribute("data-status", "done")


def advance(page: Page, to: str) -> None:
    page.locator("#advance button").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        to.replace("_", " ")
    )
    expect(page.locator(f"#phases li[data-phase='{to}']")).to_have_attribute(
        "data-status", "current"
    )


def fill_date(page: Page, name: str, day: date) -> None:
    page.locator(f"#{name}-day").fill(str(day.day))
    page.locator(f"#{name}-month").fill(str(day.month))
    page.locator(f"#{name}-year").fill(str(day.year))


def test_a_caseworker_takes_a_reconnection_case_through_its_phases(
    page: Page,
    web_url: str,
    identities: Identities,
    module_platform: Platform,
    case_id: str,
) -> None:
    derby = Api(module_platform, "derby-council")
    case = Case(module_platform, derby, case_id)
    person(
        identities,
        WORKER,
        "derby-council",
        ["caseworker"],
        teams=["safe-connections"],
        caseworker_id="kim",
        name="Kim Reconnection",
    )
    page.set_default_timeout(60_000)  # the services share two busy cores with other suites
    sign_in(page, web_url, WORKER, "/reconnection")
    home = f"{web_url}/reconnection/{case_id}"

    # The caseload of reconnection cases, with the current phase.
    row = page.locator(f"#reconnection-cases tr[data-case='{case_id}']")
    expect(row.locator("td[data-phase]")).to_have_text("Phase 3 of 8: Engage")
    assert_accessible(page)
    row.locator("a").click()

    # The eight phases: identify and allocate done by the events, engage current.
    expect(page.locator("#phases li")).to_have_count(8)
    for phase, status in (("identify", "completed"), ("allocate", "completed")):
        expect(page.locator(f"#phases li[data-phase='{phase}']")).to_have_attribute(
            "data-status", status
        )
    expect(page.locator("#phases li[data-phase='engage']")).to_have_attribute(
        "data-status", "current"
    )
    expect(page.locator("#phases li[data-phase='step_down']")).to_have_attribute(
        "data-status", "not_started"
    )
    assert_accessible(page)

    # Advancing with the checklist open is refused, with the API's reasons.
    page.locator("#advance button").click()
    refused = page.locator("#advance-refused")
    expect(refused).to_contain_text("This phase cannot be completed yet")
    expect(refused).to_contain_text("Checklist item not done: Consent to record information")
    expect(refused).to_contain_text("Eligibility not confirmed at engagement")
    assert page.title().startswith("Error: ")
    assert_accessible(page)

    # A good-practice item not applicable: the reason is required (error summary), then kept.
    visit(page, home)
    page.locator(
        "table[data-phase='engage'] tr[data-item='no_engagement_time_limit'] "
        "a[data-action='not-applicable']"
    ).click()
    page.locator("#main-content form button").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter why this item")
    assert page.title().startswith("Error: ")
    assert_accessible(page)
    page.locator("#reason").fill("Engagement began the same week")
    page.locator("#main-content form button").click()
    expect(
        page.locator("table[data-phase='engage'] tr[data-item='no_engagement_time_limit']")
    ).to_have_attribute("data-status", "not_applicable")
    tick(page, "engage", "consent_recorded", "service_explained", "referral_information_confirmed")

    # The local-connection test: a bad date first (error summary, typed values kept).
    today = case.today()
    page.goto(f"{home}/local-connection")
    expect(page.locator("#not-assessed")).to_be_visible()
    page.locator("#residence-0-area").fill("Leeds")
    fill_date(page, "residence-0-start", today - timedelta(days=1370))
    fill_date(page, "residence-0-end", today - timedelta(days=61))
    page.locator("#residence-1-area").fill("Hackney")
    page.locator("#residence-1-start-day").fill("31")
    page.locator("#residence-1-start-month").fill("2")
    page.locator("#residence-1-start-year").fill(str(today.year))
    page.locator("#family-0-area").fill("Leeds")
    page.locator("#family-0-relationship").fill("mother")
    page.locator("#family-0-years-in-area").fill("30")
    page.locator("#local-connection-form button[type='submit']").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Second address: enter a real date")
    expect(summary.locator("a")).to_have_attribute("href", "#residence-1-start")
    expect(page.locator("#residence-0-area")).to_have_value("Leeds")
    assert_accessible(page)
    fill_date(page, "residence-1-start", today - timedelta(days=60))
    page.locator("#employment-0-area").fill("Hackney")
    page.locator("#employment-0-employer").fill("market stall")
    page.locator("#local-connection-form button[type='submit']").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Local-connection test recorded"
    )
    leeds = page.locator("[data-candidate='Leeds']")
    expect(leeds).to_contain_text("Residence 3 of 5 years")
    expect(leeds).to_contain_text("mother lives there")
    expect(page.locator("[data-excluded='Hackney']")).to_contain_text(
        "the referring area is never a reconnection destination"
    )
    assert_accessible(page)
    screenshot(page, "local-connection-test")

    # Eligibility at engagement (over the API), then engage is completed.
    contacts = [
        {"on": (today - timedelta(days=d)).isoformat(), "bedded_down": d < 10}
        for d in (1, 5, 9, 14, 20, 26)
    ]
    eligibility = {
        "street_contacts": contacts,
        "recourse_to_public_funds": True,
        "recourse_basis": "uk_national",
        "has_id": True,
        "id_documents": ["birth certificate"],
    }
    case.call("PUT", "/eligibility", eligibility)
    page.goto(home)
    advance(page, "reconnection_planning")
    assert_accessible(page)
    screenshot(page, "reconnection-phases")

    # Reconnection planning: the destination from the candidates, the pack, the date.
    page.goto(f"{home}/local-connection")
    page.locator("#destination-form input[value='Leeds']").check()
    page.locator("#destination-form button").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Destination chosen: Leeds"
    )
    case.call(
        "POST",
        "/authority-contacts",
        {
            "area": "Leeds",
            "contacted_on": today.isoformat(),
            "organisation": "leeds-council",
            "already_known": False,
        },
    )
    page.goto(f"{home}/presentation-pack")
    form = page.locator("#pack-form")
    for item in ("id", "proof_of_benefits", "address_history", "priority_need_evidence"):
        form.locator(f"input[name='{item}-status'][value='done']").check()
    form.locator("input[name='covering_letter-status'][value='done']").check()
    form.locator("input[name='medical_information-status'][value='not_applicable']").check()
    form.locator("button[type='submit']").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Enter why the medical information does not apply"
    )
    assert_accessible(page)
    page.locator("#medical-information-reason").fill("No medical needs disclosed")
    page.locator("#pack-form button[type='submit']").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Presentation pack updated"
    )
    expect(page.locator("tr[data-pack-item='medical_information']")).to_have_attribute(
        "data-status", "not_applicable"
    )
    reconnection_day = today + timedelta(days=2)
    fill_date(page, "reconnection-date", today)  # refused by the API: must be after today
    page.locator("#reconnection-date-form button").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("must be after today")
    fill_date(page, "reconnection-date", reconnection_day)
    page.locator("#reconnection-date-form button").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Reconnection date set"
    )
    page.goto(home)
    tick(page, "reconnection_planning", "client_prepared_for_outcomes")
    advance(page, "reconnection")

    # Reconnection: the day's records over the API, the checklist in the browser.
    case.call("PUT", "/risk-assessment", {"level": "low", "risks": []})
    case.call("PUT", "/travel-plan", {"mode": "train", "travel_date": reconnection_day.isoformat()})
    case.call("PUT", "/budget", {"allocated_pence": 15000})
    tick(page, "reconnection", "client_briefed", "worker_attends", "settling_information")
    page.locator("#advance button").click()
    expect(page.locator("#advance-refused")).to_contain_text("The reconnection date has not come")
    case.move_to(at(reconnection_day, 12))
    wait_for(lambda: case.view()["case"]["pack_sent_at"], "the pack sent the day before")
    case.call("PUT", "/part-vii", {"status": "submitted", "on": reconnection_day.isoformat()})
    case.call("PUT", "/confidence-check", {"level": 4})
    page.goto(home)
    advance(page, "intensive_support")

    # Intensive support: at least 72 hours, handed over to local services.
    case.call(
        "POST", "/handovers", {"agency": "Leeds floating support", "service": "floating support"}
    )
    tick(page, "intensive_support", "healthcare_access")
    case.move_to(at(reconnection_day + timedelta(days=3), 14))
    page.goto(home)
    advance(page, "step_down")
    tick(page, "step_down", "support_scaled_back", "local_help_encouraged")
    advance(page, "case_closure_and_review")

    # Tool 4: before the 3-month point, the branch goes back to Step 1.
    visit(page, f"{home}/closure")
    expect(page.locator("#closure-action")).to_have_attribute("data-restart", "true")
    expect(page.locator("#closure-steps tr[data-step='1']")).to_have_attribute(
        "data-status", "current"
    )
    expect(page.locator("#closure-steps tr")).to_have_count(12)  # header and eleven steps
    case.move_to(at(add_months(reconnection_day, 3) + timedelta(days=1), 12))
    page.goto(f"{home}/closure")
    expect(page.locator("#closure-action")).to_have_attribute("data-current-step", "2")

    # The three-month follow-up: a return to rough sleeping beside "still in accommodation"
    # is refused against its own field; then recorded as no return.
    answers = page.locator("#closure-answers-form")
    answers.locator("input[name='still_in_accommodation'][value='yes']").check()
    answers.locator("input[name='engaged'][value='yes']").check()
    answers.locator("input[name='returned_to_rough_sleeping'][value='yes']").check()
    answers.locator("button").click()
    refused = page.locator(".govuk-error-summary a[href='#returned-to-rough-sleeping']")
    expect(refused).to_contain_text("not still in accommodation")
    assert_accessible(page)
    answers.locator("input[name='returned_to_rough_sleeping'][value='no']").check()
    answers.locator("button").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("answers saved")
    follow_up = case.view()["case"]["closure"]["answers"]
    assert (follow_up["still_in_accommodation"], follow_up["returned_to_rough_sleeping"]) == (
        True,
        False,
    )

    # Step 2 answered no: back to Step 1; then yes, in temporary accommodation with no
    # positive decision yet: Steps 3 to 5.
    answers.locator("input[name='sufficient_local_support'][value='yes']").check()
    answers.locator("input[name='low_risk_of_return'][value='no']").check()
    answers.locator("button").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("answers saved")
    expect(page.locator("#closure-action")).to_have_attribute("data-restart", "true")
    expect(page.locator("#closure-steps tr[data-step='2']")).to_contain_text("No: went to Step 1")
    answers.locator("input[name='low_risk_of_return'][value='yes']").check()
    answers.locator("input[name='in_temporary_accommodation'][value='yes']").check()
    answers.locator("button").click()
    expect(page.locator("#closure-action")).to_have_attribute("data-current-step", "5")
    expect(page.locator("#closure-steps tr[data-step='4']")).to_contain_text("No: went to Step 5")
    assert_accessible(page)
    screenshot(page, "closure-checklist")
    answers.locator("input[name='negative_decision_handover_done'][value='yes']").check()
    answers.locator("button").click()
    expect(page.locator("#closure-action")).to_have_attribute("data-current-step", "7")

    # Steps 7 to 11, each its own form in order.
    step = page.locator("#closure-step-form")
    step.locator("button").click()  # the letter without its content: the API's errors
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert page.title().startswith("Error: ")
    assert_accessible(page)
    page.locator("#local-support").fill("Leeds floating support, GP")
    page.locator("#crisis-plan").fill("Call Leeds housing options")
    step.locator("button").click()
    expect(page.locator("#closure-action")).to_have_attribute("data-current-step", "8")
    page.locator("#agencies").fill("St Mungo's outreach\nLeeds floating support")
    step.locator("button").click()
    expect(page.locator("#closure-action")).to_have_attribute("data-current-step", "9")
    page.locator("#note").fill("Settled")
    step.locator("button").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Case closed")
    expect(page.locator("#closure-action")).to_have_attribute("data-current-step", "10")
    page.locator("#highs").fill("Positive move")
    page.locator("#lows").fill("Late train")
    step.locator("button").click()
    # Step 11: the points with their themes; none ticked is refused against the field.
    page.locator("#points").fill("Book travel on the day")
    step.locator("button").click()
    expect(page.locator(".govuk-error-summary a[href='#themes']")).to_have_text(
        "Select what the learning points are about"
    )
    expect(page.locator("#points")).to_have_value("Book travel on the day")
    assert_accessible(page)
    step.locator("input[name='themes'][value='travel_and_budget']").check()
    step.locator("input[name='themes'][value='destination_authority']").check()
    step.locator("button").click()
    expect(page.locator("#closure-action")).to_contain_text("All eleven steps are done")
    case_id = case.path.split("/")[-1]
    logged = case.api.get("reconnection", "/learning-log", params={"case_id": case_id})
    assert [e["themes"] for e in logged.json()] == [["destination_authority", "travel_and_budget"]]
    expect(page.locator("#closure-steps tr[data-status='done']")).to_have_count(11)
    assert_accessible(page)
    page.goto(home)
    expect(page.locator("#phases li[data-phase='case_closure_and_review']")).to_have_attribute(
        "data-status", "closed"
    )
