"""The extract's sections and columns, and how Hearth's records map to H-CLIC's. Pure.

H-CLIC (the Homelessness Case Level Information Collection) is sent to the department by each
council in England every quarter, in sections linked by a unique case identifier: Main,
People, Support, Prevention, Relief, Final duties, Assistance, Temporary accommodation and
Reviews (DCLG, "H-CLIC: summary of the data monitoring specification", 14 August 2017). The
data requirement itself (v1.4.5, 18 May 2020, and later) is sent by MHCLG on request and was
not at hand when this was written, so:

- a column whose H-CLIC variable name was found in a published source carries that name in
  upper case (`ASSESS_DATE`, question 1.5); every other column carries Hearth's own name in
  lower case, to be renamed when a council maps it against its copy of the specification;
- no numeric code of the specification is claimed: values are Hearth's codes, each named for
  the H-CLIC category it stands for (docs/HCLIC.md lists them with their sources).

Hearth fills Main, Support, Prevention (support cases), Relief (reconnection cases) and
Assistance; what it cannot know is listed in docs/HCLIC.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.codes import ClosureReason, Route, SupportNeed, TenancyOutcome
from shared.events.referral_intake import DUTY_TO_REFER_SOURCES


class Section(StrEnum):
    MAIN = "main"
    SUPPORT = "support"
    PREVENTION = "prevention"
    RELIEF = "relief"
    ASSISTANCE = "assistance"


# Where a caseworker fixes a value: the Hearth record (and screen) it comes from.
class Source(StrEnum):
    ORGANISATION = "the organisation's settings"
    REFERRAL = "the referral"
    ASSESSMENT = "the referral's assessment"
    SUPPORT_NEEDS = "the referral's support needs"
    ALLOCATION = "the case's allocation"
    CONTACTS = "the case's contact log"
    PLAN = "the case's support plan"
    REVIEWS = "the case's reviews"
    CLOSURE = "the case's closure"
    RECONNECTION = "the reconnection case"


@dataclass(frozen=True)
class Column:
    name: str  # the CSV header: H-CLIC's variable (upper case) where found, else Hearth's
    label: str  # what it holds, in plain words
    source: Source  # the Hearth record it comes from
    question: str | None = None  # the H-CLIC question it answers, where a source named it


CASE_REF = Column(
    "case_ref",
    "the case's identifier in the return: a keyed hash of the case id, the same every quarter",
    Source.REFERRAL,
)

MAIN_COLUMNS: tuple[Column, ...] = (
    CASE_REF,
    Column(
        "local_authority",
        "the council sending the return (its Hearth organisation id)",
        Source.ORGANISATION,
    ),
    Column("referral_date", "the day the referral (the approach) reached Hearth", Source.REFERRAL),
    Column("ASSESS_DATE", "the day the referral was assessed", Source.ASSESSMENT, "1.5"),
    Column(
        "duty_start_date",
        "the day Hearth's support began: allocation to a caseworker",
        Source.ALLOCATION,
    ),
    Column(
        "date_facing_homelessness", "the day the household faces losing its home", Source.ASSESSMENT
    ),
    Column("referral_source", "who referred, as Hearth's referral source code", Source.REFERRAL),
    Column(
        "duty_to_refer",
        "1: referred by a public body under the duty to refer (s.213B)",
        Source.REFERRAL,
    ),
)

# H-CLIC's support needs, in the wording of the categories MHCLG publishes from H-CLIC;
# shared/codes.SupportNeed follows this list. Column names are Hearth's codes.
HCLIC_SUPPORT_NEEDS: dict[SupportNeed, str] = {
    SupportNeed.MENTAL_HEALTH: "History of mental health problems",
    SupportNeed.PHYSICAL_HEALTH: "Physical ill health and disability",
    SupportNeed.LEARNING_DISABILITY: "Learning disability",
    SupportNeed.DRUG_DEPENDENCY: "Drug dependency needs",
    SupportNeed.ALCOHOL_DEPENDENCY: "Alcohol dependency needs",
    SupportNeed.OFFENDING: "Offending history",
    SupportNeed.DOMESTIC_ABUSE: "At risk of / has experienced domestic abuse",
    SupportNeed.SEXUAL_ABUSE: "At risk of / has experienced sexual abuse / exploitation",
    SupportNeed.OTHER_ABUSE: "At risk of / has experienced abuse (non-domestic abuse)",
    SupportNeed.REPEAT_HOMELESSNESS: "History of repeat homelessness",
    SupportNeed.ROUGH_SLEEPING: "History of rough sleeping",
    SupportNeed.YOUNG_PERSON_16_17: "Young person aged 16-17 years",
    SupportNeed.YOUNG_PERSON_18_25: "Young person aged 18-25 requiring support to manage "
    "independently",
    SupportNeed.YOUNG_PARENT: "Young parent requiring support to manage independently",
    SupportNeed.CARE_LEAVER_18_20: "Care leaver aged 18-20 years",
    SupportNeed.CARE_LEAVER_21_PLUS: "Care leaver aged 21+ years",
    SupportNeed.FORMER_ASYLUM_SEEKER: "Former asylum seeker",
    SupportNeed.ARMED_FORCES: "Served in HM Forces",
    SupportNeed.OLD_AGE: "Old age",
    SupportNeed.EDUCATION_EMPLOYMENT_TRAINING: "Access to education, employment or training",
}
# Hearth's own additions (from the users' documents): kept in Hearth, never reported.
HEARTH_ONLY_NEEDS = frozenset(set(SupportNeed) - set(HCLIC_SUPPORT_NEEDS))

SUPPORT_COLUMNS: tuple[Column, ...] = (
    CASE_REF,
    *(
        Column(need.value, f"1 if: {label}; else 0", Source.SUPPORT_NEEDS)
        for need, label in HCLIC_SUPPORT_NEEDS.items()
    ),
)


class DutyEnded(StrEnum):
    """Why a prevention or relief duty ended, for the reasons a Hearth closure can stand for
    (Homelessness Code of Guidance, chapter 14: the circumstances that end both duties, and
    "the applicant has become homeless" for prevention). Reasons only the council can decide
    (56 days elapsed, refused an offer, refused to cooperate, no longer eligible, intentionally
    homeless) have no Hearth counterpart and never appear here."""

    SECURED_EXISTING = "secured_existing_accommodation"  # for 6+ months
    SECURED_ALTERNATIVE = "secured_alternative_accommodation"  # for 6+ months
    HOMELESS = "homeless"  # prevention only
    CONTACT_LOST = "contact_lost"
    WITHDRAWN_OR_DECEASED = "withdrawn_or_deceased"


_BY_OUTCOME: dict[str, DutyEnded] = {
    TenancyOutcome.SUSTAINED: DutyEnded.SECURED_EXISTING,
    TenancyOutcome.MOVED_ON_PLANNED: DutyEnded.SECURED_ALTERNATIVE,
    TenancyOutcome.EVICTED: DutyEnded.HOMELESS,
    TenancyOutcome.ABANDONED: DutyEnded.HOMELESS,
}
_BY_REASON: dict[str, DutyEnded] = {
    ClosureReason.TENANCY_SUSTAINED: DutyEnded.SECURED_EXISTING,
    ClosureReason.MOVED_ON: DutyEnded.SECURED_ALTERNATIVE,
    ClosureReason.RECONNECTED: DutyEnded.SECURED_ALTERNATIVE,  # housed in the home area
    ClosureReason.EVICTED: DutyEnded.HOMELESS,
    ClosureReason.ABANDONED: DutyEnded.HOMELESS,
    ClosureReason.DISENGAGED: DutyEnded.CONTACT_LOST,
    ClosureReason.DECEASED: DutyEnded.WITHDRAWN_OR_DECEASED,
    ClosureReason.DECLINED_SUPPORT: DutyEnded.WITHDRAWN_OR_DECEASED,
}
# Reasons that say nothing of where the household lives: the tenancy outcome decides.
_DECIDED_BY_OUTCOME = frozenset(
    {ClosureReason.PLAN_ACHIEVED, ClosureReason.NO_PROGRESS, ClosureReason.SUPPORT_LIMIT_REACHED}
)


def duty_ended(
    section: Section, reason: str | None, outcome: str | None
) -> tuple[DutyEnded | None, str]:
    """The H-CLIC reason a closed case's duty ended, or None and why there is none (in words
    a caseworker can act on)."""
    if reason is None:
        return None, "the closure records no reason; record one"
    if reason in _DECIDED_BY_OUTCOME:
        code = _BY_OUTCOME.get(outcome or "")
        if code is None:
            return None, (
                f"the closure reason {reason} needs a tenancy outcome of sustained, "
                f"moved_on_planned, evicted or abandoned to say how the duty ended "
                f"(it is {outcome or 'not recorded'}); record it"
            )
    elif reason in _BY_REASON:
        code = _BY_REASON[reason]
    else:
        return None, (
            f"the closure reason {reason} has no H-CLIC counterpart, so the council enters "
            "its own reason in its return"
        )
    if code is DutyEnded.HOMELESS and section is Section.RELIEF:
        return None, (
            f"the closure reason {reason} ends a relief duty only by a decision the council "
            "takes (e.g. intentionally homeless from accommodation provided), so the council "
            "enters it in its return"
        )
    return code, ""


def duty_section(route: str | None) -> Section | None:
    """Hearth's support keeps a home (prevention: threatened with homelessness); a
    reconnection helps a rough sleeper to a home area (relief: already homeless). Declined and
    specialist referrals are not Hearth's casework."""
    if route == Route.SUPPORT:
        return Section.PREVENTION
    if route == Route.RECONNECTION:
        return Section.RELIEF
    return None


def support_provided(route: str | None, tenancy_id: str | None) -> str | None:
    """tenancy_support (a landlord's tenancy at risk), floating_support (support with no
    tenancy on record) or reconnection."""
    if route == Route.SUPPORT:
        return "tenancy_support" if tenancy_id else "floating_support"
    if route == Route.RECONNECTION:
        return "reconnection"
    return None


def duty_to_refer(source: str | None) -> str:
    if not source:
        return ""
    return "1" if source in DUTY_TO_REFER_SOURCES else "0"


def _duty_columns(section: Section) -> tuple[Column, ...]:
    reason_question = "4.6" if section is Section.PREVENTION else None
    columns: tuple[Column, ...] = (
        CASE_REF,
        Column("duty_start_date", "the day Hearth's support began", Source.ALLOCATION),
        Column(
            "activity",
            "Hearth's support: tenancy_support, floating_support or reconnection",
            Source.ALLOCATION,
        ),
        Column("duty_end_date", "the day the case closed, if by the quarter's end", Source.CLOSURE),
        Column(
            "reason_duty_ended",
            "why the duty ended, as the H-CLIC category (DutyEnded)",
            Source.CLOSURE,
            reason_question,
        ),
        Column("closure_reason", "Hearth's closure reason", Source.CLOSURE),
        Column("tenancy_outcome", "Hearth's tenancy outcome at closure", Source.CLOSURE),
    )
    if section is Section.RELIEF:
        columns += (
            Column("destination_area", "the area a reconnection went to", Source.RECONNECTION),
        )
    return columns


ASSISTANCE_COLUMNS: tuple[Column, ...] = (
    CASE_REF,
    Column(
        "support_provided", "tenancy_support, floating_support or reconnection", Source.ALLOCATION
    ),
    Column("support_start_date", "the day support began", Source.ALLOCATION),
    Column("first_contact_date", "the first contact with the household", Source.CONTACTS),
    Column("days_to_first_contact", "days from referral to first contact", Source.CONTACTS),
    Column("plan_agreed_date", "the day the first support plan was agreed", Source.PLAN),
    Column("reviews_completed", "reviews completed by the quarter's end", Source.REVIEWS),
    Column("support_end_date", "the day support closed, if by the quarter's end", Source.CLOSURE),
)

COLUMNS: dict[Section, tuple[Column, ...]] = {
    Section.MAIN: MAIN_COLUMNS,
    Section.SUPPORT: SUPPORT_COLUMNS,
    Section.PREVENTION: _duty_columns(Section.PREVENTION),
    Section.RELIEF: _duty_columns(Section.RELIEF),
    Section.ASSISTANCE: ASSISTANCE_COLUMNS,
}


def column(section: Section, name: str) -> Column:
    return next(c for c in COLUMNS[section] if c.name == name)
