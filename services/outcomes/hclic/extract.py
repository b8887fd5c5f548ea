"""One council's H-CLIC extract for one quarter, from the cases' folded histories. Pure.

Which cases: the council's own (the organisation that allocated the case; before allocation,
the one that received the referral, so a case is in one council's return only), worked by
Hearth (route support or reconnection, or not yet assessed: a declined or specialist referral
ends at assessment and is not Hearth's casework) and active in the quarter: referred on or
before its last day and not closed before its first. A case referred, open or closed in the
quarter is in; one closed earlier or referred later is not.

What each row says: the case as it stood at the quarter's end. An event dated after the end
(a closure, a first contact, a plan) belongs to a later quarter's return and is left out here,
so the return made a few weeks after the quarter says what the quarter saw. Validation still
reads every date recorded (a date in the future of the day the extract was made is an error).

Rows are ordered by the case identifier, one per case per section it has: Main and Support
for every case, Prevention (support) or Relief (reconnection) by route, Assistance once
support began.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from services.outcomes.hclic.case_ref import CaseRefs
from services.outcomes.hclic.fields import (
    COLUMNS,
    HCLIC_SUPPORT_NEEDS,
    Section,
    duty_ended,
    duty_section,
    duty_to_refer,
    support_provided,
)
from services.outcomes.hclic.quarter import Quarter
from services.outcomes.histories import CaseHistory
from shared.codes import Route

Row = dict[str, str]
WORKED_ROUTES = frozenset({None, Route.SUPPORT, Route.RECONNECTION})
NEED_CODES = tuple(need.value for need in HCLIC_SUPPORT_NEEDS)  # read once: enum access is slow


@dataclass(frozen=True)
class ExtractedCase:
    case_id: str  # Hearth's id, for the caseworker; never written to the CSV
    case_ref: str  # the return's identifier
    history: CaseHistory  # all Hearth knows of the case (validation reads its dates)
    rows: dict[Section, Row]


@dataclass(frozen=True)
class Extract:
    council: str
    quarter: Quarter
    made_on: date  # dates after this day are impossible (validation)
    cases: list[ExtractedCase] = field(default_factory=list)  # ordered by case_ref

    def rows(self, section: Section) -> list[Row]:
        return [c.rows[section] for c in self.cases if section in c.rows]

    def to_csv(self, section: Section) -> str:
        """The section as CSV (RFC 4180: CRLF line ends, quoted where needed), its header
        the section's column names."""
        out = io.StringIO()
        names = [c.name for c in COLUMNS[section]]
        writer = csv.DictWriter(out, fieldnames=names, extrasaction="raise")
        writer.writeheader()
        writer.writerows(self.rows(section))
        return out.getvalue()


def extract(
    cases: Iterable[CaseHistory],
    council: str,
    quarter_start: date,
    *,
    key: str,
    made_on: date | None = None,
) -> Extract:
    """`key`: the never-changing secret of the case identifiers (case_ref.py). `made_on`: the
    day the extract is made (the caller's clock; a check during the quarter is allowed); by
    default the quarter's end, so any date after the quarter is reported as in the future."""
    quarter = Quarter.starting(quarter_start)
    refs = CaseRefs(council, key)
    chosen = [
        ExtractedCase(case.case_id, ref, case, _rows(case, ref, council, quarter))
        for case in cases
        if _owner(case) == council and case.route in WORKED_ROUTES and _active(case, quarter)
        for ref in (refs.of(case.case_id),)
    ]
    chosen.sort(key=lambda c: c.case_ref)
    return Extract(council, quarter, made_on or quarter.end, chosen)


def _owner(case: CaseHistory) -> str | None:
    return case.organisation or case.referral_organisation


def started_on(case: CaseHistory) -> date | None:
    """The referral day; for a case opened in Hearth at its stage, its assessment or
    allocation."""
    if case.referred_on is not None:
        return case.referred_on
    known = [d.date() for d in (case.assessed_at, case.allocated_at) if d is not None]
    return min(known, default=None)


def _active(case: CaseHistory, quarter: Quarter) -> bool:
    start, closed = started_on(case), case.closed_on
    if start is None:
        return closed is not None and quarter.contains(closed)  # validation names the gap
    if start > quarter.end:
        return False
    if closed is None or closed >= quarter.start:
        return True
    # A closure dated before its own referral: kept in the referral's quarter, so validation
    # names it rather than the case vanishing from every return.
    return closed < start and start >= quarter.start


def _by(day: date | None, end: date) -> date | None:
    """The day if it is on or before the quarter's end, else None (a later quarter's)."""
    return day if day is not None and day <= end else None


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _iso(day: date | None) -> str:
    return "" if day is None else day.isoformat()


def _rows(case: CaseHistory, ref: str, council: str, quarter: Quarter) -> dict[Section, Row]:
    end = quarter.end
    assessed = _by(case.assessed_at.date() if case.assessed_at else None, end)
    allocated = _by(case.allocated_at.date() if case.allocated_at else None, end)
    closed = _by(case.closed_on, end)
    needs = set(case.support_needs)
    rows: dict[Section, Row] = {
        Section.MAIN: {
            "case_ref": ref,
            "local_authority": council,
            "referral_date": _iso(case.referred_on),
            "ASSESS_DATE": _iso(assessed),
            "duty_start_date": _iso(allocated),
            "date_facing_homelessness": _iso(case.date_facing_homelessness),
            "referral_source": _text(case.referral_source),
            "duty_to_refer": duty_to_refer(case.referral_source),
        },
        Section.SUPPORT: {
            "case_ref": ref,
            **{code: "1" if code in needs else "0" for code in NEED_CODES},
        },
    }
    provided = support_provided(case.route, case.tenancy_id)
    section = duty_section(case.route)
    if section is not None:
        reason = case.closure_reason if closed else None
        outcome = case.tenancy_outcome if closed else None
        code = duty_ended(section, reason, outcome)[0] if closed else None
        duty: Row = {
            "case_ref": ref,
            "duty_start_date": _iso(allocated),
            "activity": _text(provided),
            "duty_end_date": _iso(closed),
            "reason_duty_ended": _text(code),
            "closure_reason": _text(reason),
            "tenancy_outcome": _text(outcome),
        }
        if section is Section.RELIEF:
            duty["destination_area"] = _text(case.destination_area)
        rows[section] = duty
    if allocated is not None:
        contact = _by(case.first_contact_on, end)
        days = None
        if contact is not None and case.referred_on is not None:
            days = (contact - case.referred_on).days
        reviews = sum(1 for r in case.reviews if _by(r.completed_on, end) is not None)
        rows[Section.ASSISTANCE] = {
            "case_ref": ref,
            "support_provided": _text(provided),
            "support_start_date": _iso(allocated),
            "first_contact_date": _iso(contact),
            "days_to_first_contact": _text(days),
            "plan_agreed_date": _iso(_by(case.plan_agreed_on, end)),
            "reviews_completed": str(reviews),
            "support_end_date": _iso(closed),
        }
    return rows
