"""The statutory return (H-CLIC): the council's quarterly extract as the outcomes service
makes it, its rows counted per section with a CSV download of each, and the per-case errors a
caseworker fixes before the council submits it (the case, the field, what is wrong, where in
Hearth to fix it).

For those who make or check the return (`returns.read`: service managers and auditors). The
rows and errors come from the outcomes API with the person's own token, which audits every
read with the cases it showed; the CSVs are proxied here, so the browser never talks to a
service itself."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.web.backend import ApiError
from services.web.context import ViewerDep
from services.web.rendering import refused, render, words
from shared.policy import Permission

router = APIRouter()
Json = dict[str, Any]

QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
SECTION = re.compile(r"^[a-z_]{1,50}$")
QUARTERS_OFFERED = 5  # this quarter and the four before it: a year of returns to check
# The extract's sections in the order H-CLIC lists them, named as a council would.
SECTION_NAMES = {
    "main": "Main",
    "support": "Support needs",
    "prevention": "Prevention",
    "relief": "Relief",
    "assistance": "Assistance",
}
# Errors found in these places are fixed on the reconnection case's page.
RECONNECTION_PLACES = frozenset({"relief", "the reconnection case"})
MONTHS = "January February March April May June July August September October November December"


# --- quarters (pure) -----------------------------------------------------------------------


@dataclass(frozen=True)
class Quarter:
    """A quarter of the financial year H-CLIC is sent for, as the outcomes API names it:
    `2026-Q1` is April to June 2026, `2026-Q4` January to March 2027."""

    year: int  # the financial year's first year (it starts on 1 April)
    number: int

    @property
    def key(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def first_month(self) -> int:
        return (3 * self.number + 1) % 12 or 12  # Q1: 4 (April) ... Q4: 1 (January)

    @property
    def label(self) -> str:
        """ "January to March 2027 (2026-27 Q4)"."""
        names = MONTHS.split()
        first = self.first_month
        calendar_year = self.year + (1 if first < 4 else 0)
        months = f"{names[first - 1]} to {names[first + 1]} {calendar_year}"
        return f"{months} ({self.year}-{(self.year + 1) % 100:02d} Q{self.number})"

    def before(self) -> Quarter:
        if self.number == 1:
            return Quarter(self.year - 1, 4)
        return Quarter(self.year, self.number - 1)


def quarter_of(day: date) -> Quarter:
    year = day.year if day.month >= 4 else day.year - 1
    return Quarter(year, (day.month - 4) % 12 // 3 + 1)


def quarters(today: date, count: int = QUARTERS_OFFERED) -> list[Quarter]:
    """This quarter first, then the ones before it."""
    out = [quarter_of(today)]
    while len(out) < count:
        out.append(out[-1].before())
    return out


def parse_quarter(text: str, today: date) -> Quarter | None:
    """A quarter the page offers (begun by today, at most a few back), or None."""
    match = QUARTER.match(text)
    if match is None:
        return None
    asked = Quarter(int(match[1]), int(match[2]))
    return asked if asked in quarters(today) else None


# --- what the page shows (pure) ------------------------------------------------------------


@dataclass(frozen=True)
class SectionRow:
    name: str
    label: str
    rows: int
    errors: int


@dataclass(frozen=True)
class CaseError:
    case_id: str
    section: str
    field: str
    message: str
    fixable_in: str
    reconnection: bool = False  # a reconnection case: fixed on its own page

    @property
    def case_href(self) -> str:
        return f"/{'reconnection' if self.reconnection else 'cases'}/{self.case_id}"


def section_label(name: str) -> str:
    return SECTION_NAMES.get(name, words(name))


def reconnection_cases(extract: Json) -> frozenset[str]:
    """The cases with a Relief row: reconnection cases (support cases have Prevention)."""
    return frozenset(
        str(row.get("case_id"))
        for section in extract.get("sections", [])
        if isinstance(section, dict) and section.get("name") == "relief"
        for row in section.get("rows") or []
        if isinstance(row, dict)
    )


def case_errors(answer: Json | None, reconnection: frozenset[str] = frozenset()) -> list[CaseError]:
    found = []
    for error in (answer or {}).get("errors", []):
        if not isinstance(error, dict) or not error.get("case_id"):
            continue
        found.append(
            CaseError(
                case_id=str(error["case_id"]),
                section=str(error.get("section") or ""),
                field=str(error.get("field") or ""),
                message=str(error.get("message") or ""),
                fixable_in=str(error.get("fixable_in") or ""),
                reconnection=str(error["case_id"]) in reconnection
                or error.get("section") in RECONNECTION_PLACES
                or error.get("fixable_in") in RECONNECTION_PLACES,
            )
        )
    return found


def section_rows(extract: Json, errors: list[CaseError]) -> list[SectionRow]:
    """Each section of the extract with its rows and errors, in H-CLIC's order."""
    per_section = Counter(e.section for e in errors)
    sections = [s for s in extract.get("sections", []) if isinstance(s, dict) and s.get("name")]
    order = list(SECTION_NAMES)
    sections.sort(key=lambda s: order.index(s["name"]) if s["name"] in order else len(order))
    return [
        SectionRow(
            str(s["name"]),
            section_label(str(s["name"])),
            len(s.get("rows") or []),
            per_section.get(str(s["name"]), 0),
        )
        for s in sections
    ]


# --- the pages -----------------------------------------------------------------------------


def _today() -> date:
    return datetime.now(UTC).date()


@router.get("/returns/hclic", response_class=HTMLResponse)
async def hclic(request: Request, viewer: ViewerDep, quarter: str = "") -> HTMLResponse:
    if not viewer.may(Permission.RETURNS_READ):
        return refused(request, viewer)
    today = _today()
    offered = quarters(today)
    chosen = parse_quarter(quarter, today) if quarter else offered[0]
    errors = {} if chosen else {"quarter": "Select a quarter from the list"}
    extract: Json = {}
    found: list[CaseError] = []
    if chosen:
        answers: list[Json] = await asyncio.gather(
            viewer.api.get("outcomes", "/returns/hclic", quarter=chosen.key),
            viewer.api.get("outcomes", "/returns/hclic/errors", quarter=chosen.key),
        )
        extract = answers[0]
        found = case_errors(answers[1], reconnection_cases(extract))
    return render(
        request,
        viewer,
        "returns/hclic.html",
        status=400 if errors else 200,
        errors=errors,
        values={"quarter": chosen.key if chosen else ""},
        quarter_options=[(q.key, q.label) for q in offered],
        quarter=chosen,
        extract=extract,
        sections=section_rows(extract, found) if chosen else [],
        case_errors=found,
        cases_with_errors=len({e.case_id for e in found}),
        may_open_cases=viewer.may(Permission.CASES_READ),
        section_label=section_label,
    )


@router.get("/returns/hclic/{section}.csv")
async def hclic_csv(
    request: Request, viewer: ViewerDep, section: str, quarter: str = ""
) -> Response:
    """One section of the quarter's extract as CSV, as the outcomes service writes it."""
    if not viewer.may(Permission.RETURNS_READ):
        return refused(request, viewer)
    chosen = parse_quarter(quarter, _today())
    if not SECTION.match(section) or chosen is None:
        raise ApiError("outcomes", 404, "no such section or quarter")
    content = await viewer.api.get(
        "outcomes", "/returns/hclic.csv", quarter=chosen.key, section=section
    )
    body = content if isinstance(content, bytes) else str(content).encode()
    council = re.sub(r"[^A-Za-z0-9_-]", "-", viewer.user.organisation)
    name = f"hclic_{council}_{chosen.key}_{section}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
