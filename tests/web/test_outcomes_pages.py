"""The Outcomes and Statutory return (H-CLIC) pages in a real browser against the real
platform, the outcomes service among it. A referral is allocated to Jo and closed through the
real APIs with no contact logged; once the outcomes service has taken the events in, a service
manager reads the figures (chart and table), downloads a measure's CSV and the monthly PDF
report, and finds the case on the H-CLIC page's error list. A caseworker is refused both
pages; a team leader sees the outcomes of their own teams but not the return; an auditor the
return but not the outcomes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from devstack.identities import Identities
from devstack.platform import Platform
from services.web.pages.outcomes import short_month
from services.web.pages.returns import quarter_of
from tests.referral.factories import referral_json
from tests.web.browser import assert_accessible, person, screenshot, sign_in
from tests.web.seeding import ApiSeed, eventually

# The platform and the seeding share the first test's time on a machine other suites also use.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ORG = "derby-council"
EAST = "oc-team-east"
JO = "oc-web-jo"
MEASURE = "days_to_allocation"  # allocated the day it was referred: 0 days


class Seed(ApiSeed):
    def __init__(self, platform: Platform) -> None:
        super().__init__(platform, ORG)
        self.case = ""
        self.quarter = quarter_of(datetime.now(UTC).date()).key

    def outcomes(self, path: str) -> Any:
        answer = self.get("outcomes", path)
        return answer.json() if answer.status_code == 200 else None

    def allocation_figure(self) -> int:
        found = self.outcomes(f"/outcomes/measures/{MEASURE}") or {"figures": []}
        return sum(int(f.get("count") or 0) for f in found["figures"])

    def hclic_errors(self) -> list[dict[str, Any]]:
        found = self.outcomes(f"/returns/hclic/errors?quarter={self.quarter}") or {"errors": []}
        return [e for e in found["errors"] if e["case_id"] == self.case]


@pytest.fixture(scope="module")
def seeded(module_platform: Platform) -> Seed:
    """Alex Morgan referred, allocated to Jo the same day and closed (plan achieved, tenancy
    sustained) without a contact ever logged: a figure for the outcomes page, and a missing
    mandatory value (the first contact) for the H-CLIC return."""
    seed = Seed(module_platform)
    seed.team(EAST, "East sustainment", "Abi Leader")
    seed.worker(JO, EAST, "Jo Caseworker", ["generalist", "mental_health"], 30)
    body = referral_json(
        urgency={
            "date_facing_homelessness": (date.today() + timedelta(40)).isoformat(),
            "legal_stage": "notice_served",
        }
    )
    seed.case = seed.refer(body)
    eventually(lambda: seed.get("support", f"/cases/{seed.case}").status_code == 200, "the case")
    closure = {"reason": "plan_achieved", "tenancy_outcome": "sustained", "closed_by": JO}
    seed.post("support", f"/cases/{seed.case}/close", closure, created=False)
    eventually(lambda: seed.allocation_figure() >= 1, "the outcomes service's first figure")
    eventually(
        lambda: any(e["field"] == "first_contact_date" for e in seed.hclic_errors()),
        "the case on the H-CLIC error list, with no first contact",
    )
    return seed


def row(table: Locator, label: str) -> Locator:
    return table.locator("tbody tr", has=table.page.locator("th", has_text=label))


def test_a_service_manager_reads_the_outcomes_and_downloads_the_csv_and_the_report(
    page: Page, web_url: str, identities: Identities, seeded: Seed
) -> None:
    manager = person(identities, "test.web.outcomes.sm", ORG, ["service-manager"])
    sign_in(page, web_url, manager, "/dashboard")
    # The dashboard is about now, and says where the figures over months are.
    page.locator("#dashboard-outcomes-link").click()
    expect(page.locator("h1")).to_have_text("Outcomes")
    expect(page.locator("#navigation a[aria-current='page']")).to_have_text("Outcomes")

    # The headline figure with its definition, and the month as a chart with its table.
    block = page.locator(f"#measure-{MEASURE}")
    expect(block.locator("h2")).to_have_text("Days from referral to allocation")
    expect(block).to_contain_text("Median calendar days")
    expect(page.locator(f"#value-{MEASURE}")).to_have_text("0 days")
    expect(page.locator(f"#count-{MEASURE}")).to_have_text("1")
    chart = page.locator(f"#chart-{MEASURE}")
    expect(chart.locator("svg[role='img'] title")).to_contain_text("by month")
    this_month = short_month(datetime.now(UTC).date().replace(day=1))
    expect(row(chart.locator("table"), this_month).locator("td").first).to_have_text("0 days")
    screenshot(page, "outcomes")
    assert_accessible(page)

    # This quarter instead: the same figure, the period kept in the download links.
    page.locator("input[name='period'][value='quarter']").check()
    page.get_by_role("button", name="Show figures").click()
    expect(page).to_have_url(f"{web_url}/outcomes?period=quarter")
    expect(page.locator(f"#value-{MEASURE}")).to_have_text("0 days")
    link = page.locator(f"#csv-{MEASURE}")
    expect(link).to_have_attribute("href", f"/outcomes/measures/{MEASURE}.csv?period=quarter")

    # The CSV, through the web app with the manager's own token: small numbers withheld.
    with page.expect_download() as csv_download:
        link.click()
    csv_file = csv_download.value
    assert csv_file.suggested_filename.startswith(f"{MEASURE}_")
    assert csv_file.suggested_filename.endswith(".csv")
    lines = Path(csv_file.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "month,value,count,numerator,suppressed", lines
    assert any(line.endswith(",true") for line in lines[1:]), lines  # one case: withheld
    answer = page.request.get(f"{web_url}/outcomes/measures/{MEASURE}.csv?period=quarter")
    assert answer.status == 200
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.headers["content-type"].startswith("text/csv")

    # The monthly PDF report, from the form's month list.
    with page.expect_download() as pdf_download:
        page.get_by_role("button", name="Download the report (PDF)").click()
    pdf = pdf_download.value
    assert pdf.suggested_filename.startswith("outcomes-")
    assert Path(pdf.path()).read_bytes()[:5] == b"%PDF-"
    assert_accessible(page)


def test_the_statutory_return_lists_a_case_missing_a_mandatory_value(
    page: Page, web_url: str, identities: Identities, seeded: Seed
) -> None:
    manager = person(identities, "test.web.outcomes.sm", ORG, ["service-manager"])
    sign_in(page, web_url, manager, "/")
    page.locator("#navigation a", has_text="Statutory return").click()
    expect(page.locator("h1")).to_have_text("Statutory return (H-CLIC)")
    expect(page.locator("#quarter")).to_have_value(seeded.quarter)

    # The quarter's rows per section, each with its CSV.
    main = page.locator("#hclic-sections tr[data-section='main']")
    expect(main.locator("td").first).not_to_have_text("0")
    # The closed case never had a contact logged: its error names the field and the place.
    errors = page.locator(f"#hclic-errors tr[data-case='{seeded.case}']")
    error = errors.filter(has_text="first_contact_date").first
    expect(error).to_contain_text("Assistance")
    expect(error).to_contain_text("no contact logged")
    expect(error).to_contain_text("The case's contact log")
    case_link = error.locator("a")
    expect(case_link).to_have_attribute("href", f"/cases/{seeded.case}")
    screenshot(page, "hclic")
    assert_accessible(page)

    with page.expect_download() as download:
        main.locator("a").click()
    csv_file = download.value
    assert csv_file.suggested_filename == f"hclic_{ORG}_{seeded.quarter}_main.csv"
    lines = Path(csv_file.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("case_ref,"), lines[0]
    assert len(lines) >= 2
    assert seeded.case not in "\n".join(lines)  # Hearth's case ids stay out of the file

    # A quarter the page does not offer: the error summary names the field.
    page.goto(f"{web_url}/returns/hclic?quarter=1999-Q1")
    expect(page.locator(".govuk-error-summary a[href='#quarter']")).to_be_visible()
    assert page.title().startswith("Error: ")
    assert_accessible(page)

    # The case page the error links to.
    page.goto(f"{web_url}/returns/hclic?quarter={seeded.quarter}")
    case_link.click()
    expect(page).to_have_url(f"{web_url}/cases/{seeded.case}")


def test_who_is_refused_the_outcomes_and_the_return(
    page: Page, web_url: str, identities: Identities, seeded: Seed
) -> None:
    worker = person(
        identities, "test.web.outcomes.jo", ORG, ["caseworker"], teams=[EAST], caseworker_id=JO
    )
    sign_in(page, web_url, worker, "/")
    nav = page.locator("#navigation")
    expect(nav.locator("a[href='/outcomes']")).to_have_count(0)
    expect(nav.locator("a[href='/returns/hclic']")).to_have_count(0)
    month = datetime.now(UTC).strftime("%Y-%m")
    for refused in (
        "/outcomes",
        f"/outcomes/measures/{MEASURE}.csv",
        f"/outcomes/report.pdf?month={month}",
        "/returns/hclic",
        "/returns/hclic/main.csv",
    ):
        answer = page.goto(f"{web_url}{refused}")
        assert answer is not None and answer.status == 403, refused
        expect(page.locator("h1")).to_have_text("You do not have access to this page")
    assert_accessible(page)
    page.context.clear_cookies()

    # A team leader: the outcomes of their own teams, not the council's return.
    leader = person(identities, "test.web.outcomes.abi", ORG, ["team-leader"], teams=[EAST])
    sign_in(page, web_url, leader, "/")
    nav = page.locator("#navigation")
    expect(nav.locator("a[href='/returns/hclic']")).to_have_count(0)
    nav.locator("a[href='/outcomes']").click()
    expect(page.locator("#outcomes-teams")).to_contain_text(EAST)
    expect(page.locator(f"#value-{MEASURE}")).to_have_text("0 days")
    answer = page.goto(f"{web_url}/returns/hclic")
    assert answer is not None and answer.status == 403
    page.context.clear_cookies()

    # An auditor: the return, but no figures, and no case page to open.
    auditor = person(identities, "test.web.outcomes.auditor", ORG, ["auditor"])
    sign_in(page, web_url, auditor, "/")
    nav = page.locator("#navigation")
    expect(nav.locator("a[href='/outcomes']")).to_have_count(0)
    nav.locator("a[href='/returns/hclic']").click()
    error = page.locator(f"#hclic-errors tr[data-case='{seeded.case}']").first
    expect(error).to_contain_text(seeded.case)
    expect(error.locator("a")).to_have_count(0)
    answer = page.goto(f"{web_url}/outcomes")
    assert answer is not None and answer.status == 403
