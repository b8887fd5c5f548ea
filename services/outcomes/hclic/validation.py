"""The errors a caseworker fixes before the council submits its return: missing mandatory
values, impossible dates and events out of order, each naming the case, the section and
column, what is wrong in plain words, and the Hearth record to fix it in. Pure.

Impossible dates are read from everything Hearth holds of the case (not only the quarter's
view), so a date typed years ahead is found even though the return leaves it out: a date
before 1990 or after the day the extract was made (by default the quarter's end) is an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from services.outcomes.hclic.extract import Extract, ExtractedCase
from services.outcomes.hclic.fields import Section, Source, duty_ended, duty_section
from shared.codes import SupportNeed

EARLIEST = date(1990, 1, 1)
KNOWN_NEEDS = frozenset(n.value for n in SupportNeed)


@dataclass(frozen=True)
class CaseError:
    case_id: str  # Hearth's case id: the caseworker finds the case by it
    section: Section
    field: str  # the column (or, for a list, the record) that is wrong
    message: str
    fixable_in: Source


def validate(extract: Extract) -> list[CaseError]:
    return [error for case in extract.cases for error in _case_errors(extract, case)]


def _case_errors(extract: Extract, case: ExtractedCase) -> Iterator[CaseError]:
    yield from _missing(extract, case)
    yield from _impossible(extract, case)
    yield from _out_of_order(case)


def _error(
    case: ExtractedCase, section: Section, field: str, message: str, source: Source
) -> CaseError:
    return CaseError(case.case_id, section, field, message, source)


def _missing(extract: Extract, case: ExtractedCase) -> Iterator[CaseError]:
    main = case.rows[Section.MAIN]
    end = extract.quarter.end.isoformat()
    if not main["referral_date"]:
        yield _error(
            case,
            Section.MAIN,
            "referral_date",
            "No referral date: record the day the household was referred or approached.",
            Source.REFERRAL,
        )
    if not main["ASSESS_DATE"]:
        yield _error(
            case,
            Section.MAIN,
            "ASSESS_DATE",
            f"The referral was not assessed by the quarter's end ({end}): assess it.",
            Source.ASSESSMENT,
        )
    unknown = sorted(set(case.history.support_needs) - KNOWN_NEEDS)
    if unknown:
        yield _error(
            case,
            Section.SUPPORT,
            "support_needs",
            f"Unknown support need code {', '.join(unknown)}: choose one from the list.",
            Source.SUPPORT_NEEDS,
        )
    section = duty_section(case.history.route)
    duty = case.rows.get(section) if section else None
    if section is not None and duty is not None and duty["duty_end_date"]:
        closed = duty["duty_end_date"]
        if not main["duty_start_date"]:
            yield _error(
                case,
                Section.MAIN,
                "duty_start_date",
                f"Closed on {closed} but never allocated to a caseworker: record the allocation.",
                Source.ALLOCATION,
            )
        if not duty["reason_duty_ended"]:
            reason, outcome = duty["closure_reason"] or None, duty["tenancy_outcome"] or None
            why = duty_ended(section, reason, outcome)[1]
            yield _error(
                case,
                section,
                "reason_duty_ended",
                f"The duty ended on {closed} without a reason H-CLIC accepts: {why}.",
                Source.CLOSURE,
            )
    assistance = case.rows.get(Section.ASSISTANCE)
    if assistance and assistance["support_end_date"] and not assistance["first_contact_date"]:
        yield _error(
            case,
            Section.ASSISTANCE,
            "first_contact_date",
            f"Support closed on {assistance['support_end_date']} with no contact logged: log "
            "the contacts made.",
            Source.CONTACTS,
        )


def _dates(case: ExtractedCase) -> Iterator[tuple[Section, str, str, date | None, Source]]:
    """Every date Hearth holds of the case: (section, column, what, day, where to fix)."""
    h = case.history
    duty = duty_section(h.route) or Section.MAIN
    yield Section.MAIN, "referral_date", "Referral date", h.referred_on, Source.REFERRAL
    assessed = h.assessed_at.date() if h.assessed_at else None
    yield Section.MAIN, "ASSESS_DATE", "Assessment date", assessed, Source.ASSESSMENT
    allocated = h.allocated_at.date() if h.allocated_at else None
    yield Section.MAIN, "duty_start_date", "Allocation date", allocated, Source.ALLOCATION
    contact = h.first_contact_on
    yield Section.ASSISTANCE, "first_contact_date", "First contact", contact, Source.CONTACTS
    plan = h.plan_agreed_on
    yield Section.ASSISTANCE, "plan_agreed_date", "Plan agreed date", plan, Source.PLAN
    for review in h.reviews:
        what = f"Review {review.review_point} completed"
        yield Section.ASSISTANCE, "reviews_completed", what, review.completed_on, Source.REVIEWS
    yield duty, "duty_end_date", "Closure date", h.closed_on, Source.CLOSURE


def _impossible(extract: Extract, case: ExtractedCase) -> Iterator[CaseError]:
    made_on = extract.made_on
    latest = (
        f"the quarter's end ({made_on})"
        if made_on == extract.quarter.end
        else f"the day this extract was made ({made_on})"
    )
    for section, name, what, day, source in _dates(case):
        if day is None:
            continue
        if day < EARLIEST:
            message = f"{what} {day} is before 1990: correct it."
            yield _error(case, section, name, message, source)
        elif day > made_on:
            message = f"{what} {day} is after {latest}: a date in the future; correct it."
            yield _error(case, section, name, message, source)
    facing = case.history.date_facing_homelessness
    if facing is not None and facing < EARLIEST:
        yield _error(
            case,
            Section.MAIN,
            "date_facing_homelessness",
            f"Date facing homelessness {facing} is before 1990: correct it.",
            Source.ASSESSMENT,
        )


def _out_of_order(case: ExtractedCase) -> Iterator[CaseError]:
    h = case.history
    referred = h.referred_on
    allocated = h.allocated_at.date() if h.allocated_at else None
    closed = h.closed_on
    duty = duty_section(h.route) or Section.MAIN
    if referred and closed and closed < referred:
        yield _error(
            case,
            duty,
            "duty_end_date",
            f"Closed on {closed}, before the referral on {referred}: correct one of them.",
            Source.CLOSURE,
        )
    if referred and allocated and allocated < referred:
        yield _error(
            case,
            Section.MAIN,
            "duty_start_date",
            f"Allocated on {allocated}, before the referral on {referred}: correct one of them.",
            Source.ALLOCATION,
        )
    if referred and h.first_contact_on and h.first_contact_on < referred:
        yield _error(
            case,
            Section.ASSISTANCE,
            "first_contact_date",
            f"First contact on {h.first_contact_on}, before the referral on {referred}: "
            "correct the contact's date.",
            Source.CONTACTS,
        )
    plan = h.plan_agreed_on
    if allocated and plan and plan < allocated:
        yield _error(
            case,
            Section.ASSISTANCE,
            "plan_agreed_date",
            f"Support plan agreed on {plan}, before the allocation on {allocated}: correct "
            "the plan's date.",
            Source.PLAN,
        )
    if plan:
        for review in h.reviews:
            if review.completed_on and review.completed_on < plan:
                yield _error(
                    case,
                    Section.ASSISTANCE,
                    "reviews_completed",
                    f"Review {review.review_point} completed on {review.completed_on}, "
                    f"before the support plan was agreed on {plan}: correct the review's "
                    "date.",
                    Source.REVIEWS,
                )
