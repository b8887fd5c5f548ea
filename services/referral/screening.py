"""Screening: which route a referral takes, and why. Pure rules, checked in this order:

1. Automatic prevention referral (arrears alert)  -> support (tenancy sustainment).
2. A 16-17 year old                                -> specialist: children's services assess
   first (homeless 16-17 year olds are children in need; care leavers stay with their team).
3. No consent to share with partner agencies      -> declined: support means liaising with the
   landlord and other agencies (Safe Connections phase 3), so re-refer once they consent.
4. No recourse to public funds                      -> declined, signposted to specialist
   immigration / NRPF advice (Safe Connections Tool 3 checks it before referring).
5. No housing-related support need                  -> declined: out of scope for floating
   support (the staged model's entry point is "housing related support need identified").
6. Domestic or sexual abuse                         -> specialist domestic abuse service
   (staged model: Domestic Abuse floating support); reconnection is never safe to assume.
7. All three Safe Connections criteria              -> reconnection.
8. A single need with its own specialist service    -> specialist floating support (mental
   health, learning disability; offending -> ex-offender housing support, as Derby works with).
9. Otherwise                                        -> support (tenancy / floating support).

Every outcome carries reasons a referrer can read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from shared.codes import LegalStage, Route, SupportNeed
from shared.events.referral_intake import ReferralSubmission, RoughSleepingHistory
from shared.rough_sleeping import RoughSleepingCategory, StreetRecord, categories

# Criterion 2 (rough sleeping) is the platform's one rule: shared/rough_sleeping.py.
# Criterion 3: multiple needs.
MIN_NEEDS_FOR_MULTIPLE = 2

ABUSE_NEEDS = frozenset({SupportNeed.DOMESTIC_ABUSE, SupportNeed.SEXUAL_ABUSE})
# A referral whose only need is one of these goes to that need's specialist floating support.
SOLE_NEED_SPECIALISTS: dict[SupportNeed, str] = {
    SupportNeed.MENTAL_HEALTH: "mental_health_floating_support",
    SupportNeed.LEARNING_DISABILITY: "learning_disability_floating_support",
    SupportNeed.OFFENDING: "ex_offender_housing_support",
}
CHILDRENS_SERVICES = "childrens_services"
DOMESTIC_ABUSE_SERVICE = "domestic_abuse_service"
NRPF_ADVICE = "immigration_nrpf_advice"


@dataclass(frozen=True)
class ScreeningResult:
    route: Route
    reasons: list[str]
    specialist_service: str | None = None


@dataclass(frozen=True)
class ReconnectionCheck:
    """The three Safe Connections criteria, each with what was found."""

    local_connection_elsewhere: bool
    rough_sleeping_history: bool
    multiple_needs: bool
    reasons: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return (
            self.local_connection_elsewhere and self.rough_sleeping_history and self.multiple_needs
        )


def age_on(date_of_birth: date, on: date) -> int:
    years = on.year - date_of_birth.year
    if (on.month, on.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


def _area(name: str) -> str:
    return " ".join(name.casefold().replace("-", " ").split())


def rough_sleeping_reason(history: RoughSleepingHistory | None, today: date) -> str | None:
    """Which of criterion 2's three definitions holds, or None. The referral's counts are read
    as the shared rule's record: its contacts over its period (to today while it runs), and a
    referrer's "intermittent" as seen rough sleeping before the period."""
    if history is None:
        return None
    end = history.period_end or today
    span = (end - history.period_start).days if history.period_start else 0
    record = StreetRecord(
        contacts=history.contacts,
        span_days=span,
        seen_before_period=history.intermittent,
        bedded_down_contacts=history.bedded_down_contacts,
    )
    found = categories(record)
    if RoughSleepingCategory.BEDDED_DOWN_CONTACTS in found:
        return f"rough sleeping: {history.bedded_down_contacts} bedded-down contacts"
    if RoughSleepingCategory.LIVING_ON_THE_STREET in found:
        return f"rough sleeping: living on the street, {history.contacts} contacts over {span} days"
    if RoughSleepingCategory.INTERMITTENT in found:
        return "rough sleeping: intermittent rough sleeper"
    return None


def check_reconnection(submission: ReferralSubmission, today: date) -> ReconnectionCheck:
    reasons: list[str] = []
    missing: list[str] = []
    referring = _area(submission.referring_area) if submission.referring_area else None
    elsewhere = [
        c.area for c in submission.local_connections if referring and _area(c.area) != referring
    ]
    if elsewhere:
        reasons.append(
            f"local connection outside {submission.referring_area}: {', '.join(elsewhere)}"
        )
    elif referring is None:
        missing.append("local connection outside the referring area (referring_area not given)")
    else:
        missing.append(f"local connection outside {submission.referring_area}")
    rough = rough_sleeping_reason(submission.rough_sleeping, today)
    if rough:
        reasons.append(rough)
    else:
        missing.append("rough-sleeping history")
    needs = len(set(submission.support_needs))
    multiple = needs >= MIN_NEEDS_FOR_MULTIPLE
    if multiple:
        reasons.append(f"multiple needs: {needs} support needs")
    else:
        missing.append("multiple needs")
    return ReconnectionCheck(bool(elsewhere), rough is not None, multiple, reasons, missing)


def _urgency_reasons(submission: ReferralSubmission, today: date) -> list[str]:
    reasons = []
    if submission.urgency.legal_stage != LegalStage.NONE:
        reasons.append(f"legal stage: {submission.urgency.legal_stage.value}")
    facing = submission.urgency.date_facing_homelessness
    if facing is not None:
        reasons.append(f"facing homelessness in {(facing - today).days} days")
    return reasons


def _is_16_or_17(submission: ReferralSubmission, today: date) -> bool:
    if SupportNeed.YOUNG_PERSON_16_17 in submission.support_needs:
        return True
    person = submission.person
    if person is None or person.date_of_birth is None:
        return False
    return 16 <= age_on(person.date_of_birth, today) <= 17


def _has_risk_of_homelessness(submission: ReferralSubmission) -> bool:
    return (
        submission.urgency.legal_stage != LegalStage.NONE
        or submission.urgency.date_facing_homelessness is not None
        or submission.rough_sleeping is not None
    )


def screen(submission: ReferralSubmission, today: date) -> ScreeningResult:
    """Decide the route of one referral on `today` (the day it was received)."""
    needs = list(dict.fromkeys(submission.support_needs))
    need_names = ", ".join(n.value for n in needs)
    urgency = _urgency_reasons(submission, today)

    if submission.automatic:
        return ScreeningResult(
            Route.SUPPORT,
            ["automatic prevention referral from an arrears alert: tenancy sustainment", *urgency],
        )
    if _is_16_or_17(submission, today):
        return ScreeningResult(
            Route.SPECIALIST,
            ["aged 16-17: children's services assess a homeless 16 or 17 year old first"],
            CHILDRENS_SERVICES,
        )
    if submission.consent is None or not submission.consent.to_share:
        return ScreeningResult(
            Route.DECLINED,
            [
                "no consent to share information with the support provider and partner "
                "agencies; re-refer once the person consents"
            ],
        )
    if submission.recourse_to_public_funds is False:
        return ScreeningResult(
            Route.DECLINED,
            [
                "no recourse to public funds: not eligible for publicly funded housing "
                "support; signposted to specialist immigration / NRPF advice"
            ],
            NRPF_ADVICE,
        )
    if not needs:
        reasons = ["no housing-related support need identified: out of scope for support"]
        if _has_risk_of_homelessness(submission):
            reasons.append("the council's housing options service handles the homelessness duty")
        return ScreeningResult(Route.DECLINED, reasons)
    abuse = [n.value for n in needs if n in ABUSE_NEEDS]
    if abuse:
        return ScreeningResult(
            Route.SPECIALIST,
            [f"{', '.join(abuse)}: redirected to the specialist domestic abuse service", *urgency],
            DOMESTIC_ABUSE_SERVICE,
        )
    reconnection = check_reconnection(submission, today)
    if reconnection.eligible:
        return ScreeningResult(
            Route.RECONNECTION,
            ["meets all three Safe Connections criteria", *reconnection.reasons, *urgency],
        )
    if len(needs) == 1 and needs[0] in SOLE_NEED_SPECIALISTS:
        service = SOLE_NEED_SPECIALISTS[needs[0]]
        return ScreeningResult(
            Route.SPECIALIST,
            [f"single need {needs[0].value}: redirected to {service.replace('_', ' ')}", *urgency],
            service,
        )
    reasons = [f"accepted for tenancy / floating support: {need_names}", *urgency]
    if submission.rough_sleeping is not None:
        reasons.append("not routed to reconnection: missing " + "; ".join(reconnection.missing))
    return ScreeningResult(Route.SUPPORT, reasons)
