"""Tool 3, the Safe Connections referral criteria, as a pure check.

A client qualifies with all three criteria: (1) a local connection outside the referring area,
(2) a history of rough sleeping or current rough sleeping, (3) multiple needs. The referral form
also asks about recourse to public funds (without it there is no Part VII application, so no
reconnection through housing options) and ID (needed for the presentation pack: an action, not a
bar).

CHAIN's rough-sleeping definitions, made countable:
- living on the street: at least LIVING_MIN_CONTACTS contacts in the period, spread over
  3 weeks or more, never more than MAX_GAP_DAYS apart;
- intermittent: seen rough sleeping before the period began, contacted in it, but not regularly
  enough to be living on the street;
- bedded down: 2 or more bedded-down contacts.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from services.reconnection.dates import BoundedDate
from services.reconnection.local_connection import area_key
from shared.codes import SupportNeed

PERIOD_DAYS = 90
LIVING_MIN_CONTACTS = 5
LIVING_MIN_SPAN_DAYS = 21
MAX_GAP_DAYS = 7
BEDDED_DOWN_MIN = 2
MULTIPLE_NEEDS_MIN = 2
# Homelessness itself is why the client is referred; "multiple needs" means needs beyond it.
NOT_COUNTED_AS_NEEDS = frozenset({SupportNeed.ROUGH_SLEEPING, SupportNeed.REPEAT_HOMELESSNESS})


class RoughSleepingCategory(StrEnum):
    LIVING_ON_THE_STREET = "living_on_the_street"
    INTERMITTENT = "intermittent"
    BEDDED_DOWN_CONTACTS = "bedded_down_contacts"


class Status(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"


class Verdict(StrEnum):
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    INCOMPLETE = "incomplete"


class StreetContact(BaseModel):
    on: BoundedDate
    bedded_down: bool = False


class EligibilityInput(BaseModel):
    street_contacts: list[StreetContact] = Field(default_factory=list, max_length=1000)
    seen_rough_sleeping_before_period: bool = Field(
        False, description="CHAIN shows rough sleeping before the period began"
    )
    support_needs: list[SupportNeed] | None = Field(
        None, description="confirmed needs; empty means use the referral's"
    )
    uk_national: bool | None = None
    has_id: bool | None = None
    id_documents: list[str] = Field(default_factory=list, max_length=20)
    recourse_to_public_funds: bool | None = None
    recourse_basis: str | None = Field(
        None, max_length=100, description="e.g. uk_national, ilr, refugee, eu_worker"
    )


class Criterion(BaseModel):
    name: str
    status: Status
    detail: str


class EligibilityResult(BaseModel):
    verdict: Verdict
    assessed_on: date
    criteria: list[Criterion]
    checks: list[Criterion]
    rough_sleeping: list[RoughSleepingCategory]
    actions: list[str] = []


def classify_rough_sleeping(
    contacts: list[StreetContact], seen_before_period: bool, today: date
) -> list[RoughSleepingCategory]:
    period_start = today - timedelta(days=PERIOD_DAYS - 1)
    known = sorted(c.on for c in contacts if c.on <= today)
    in_period = [d for d in known if d >= period_start]
    categories = []
    if _living_on_the_street(in_period):
        categories.append(RoughSleepingCategory.LIVING_ON_THE_STREET)
    elif in_period and (seen_before_period or any(d < period_start for d in known)):
        categories.append(RoughSleepingCategory.INTERMITTENT)
    if sum(1 for c in contacts if c.bedded_down and c.on <= today) >= BEDDED_DOWN_MIN:
        categories.append(RoughSleepingCategory.BEDDED_DOWN_CONTACTS)
    return categories


def _living_on_the_street(days: list[date]) -> bool:
    """A run of contacts at most MAX_GAP_DAYS apart, spanning 3+ weeks, with enough contacts."""
    run: list[date] = []
    for day in days:
        if run and (day - run[-1]).days > MAX_GAP_DAYS:
            run = []
        run.append(day)
        if len(run) >= LIVING_MIN_CONTACTS and (run[-1] - run[0]).days >= LIVING_MIN_SPAN_DAYS:
            return True
    return False


def assess_eligibility(
    given: EligibilityInput,
    *,
    today: date,
    referral_needs: list[SupportNeed],
    referring_area: str | None,
    connection_areas: list[str] | None,
) -> EligibilityResult:
    """`connection_areas`: the local-connection candidates (None: not assessed yet)."""
    criteria = [
        _local_connection(referring_area, connection_areas),
        _rough_sleeping(given, today),
        _multiple_needs(given.support_needs or referral_needs),
    ]
    checks, actions = _public_funds_and_id(given)
    statuses = [c.status for c in criteria] + [checks[0].status]
    if Status.NOT_MET in statuses:
        verdict = Verdict.NOT_ELIGIBLE
    elif Status.UNKNOWN in statuses:
        verdict = Verdict.INCOMPLETE
    else:
        verdict = Verdict.ELIGIBLE
    return EligibilityResult(
        verdict=verdict,
        assessed_on=today,
        criteria=criteria,
        checks=checks,
        rough_sleeping=classify_rough_sleeping(
            given.street_contacts, given.seen_rough_sleeping_before_period, today
        ),
        actions=actions,
    )


def _local_connection(referring_area: str | None, areas: list[str] | None) -> Criterion:
    name = "local_connection_outside_referring_area"
    if areas is None:
        return Criterion(name=name, status=Status.UNKNOWN, detail="local connection not assessed")
    referring = area_key(referring_area) if referring_area else None
    outside = [a for a in areas if area_key(a) != referring]
    if outside:
        return Criterion(name=name, status=Status.MET, detail=f"connected to {', '.join(outside)}")
    return Criterion(
        name=name, status=Status.NOT_MET, detail="no local connection outside the referring area"
    )


def _rough_sleeping(given: EligibilityInput, today: date) -> Criterion:
    name = "rough_sleeping_history"
    categories = classify_rough_sleeping(
        given.street_contacts, given.seen_rough_sleeping_before_period, today
    )
    if categories:
        return Criterion(name=name, status=Status.MET, detail=", ".join(categories))
    if not given.street_contacts:
        return Criterion(name=name, status=Status.UNKNOWN, detail="no street contacts recorded")
    return Criterion(
        name=name,
        status=Status.NOT_MET,
        detail="contacts do not meet living on the street, intermittent or bedded-down",
    )


def _multiple_needs(needs: list[SupportNeed]) -> Criterion:
    counted = sorted({n for n in needs if n not in NOT_COUNTED_AS_NEEDS})
    status = Status.MET if len(counted) >= MULTIPLE_NEEDS_MIN else Status.NOT_MET
    detail = ", ".join(counted) if counted else "no support needs beyond homelessness"
    return Criterion(name="multiple_needs", status=status, detail=detail)


def _public_funds_and_id(given: EligibilityInput) -> tuple[list[Criterion], list[str]]:
    actions = []
    funds = given.recourse_to_public_funds
    funds_check = Criterion(
        name="recourse_to_public_funds",
        status=Status.UNKNOWN if funds is None else Status.MET if funds else Status.NOT_MET,
        detail=given.recourse_basis
        or ("no recourse: no Part VII application" if funds is False else "not confirmed"),
    )
    if funds is None:
        actions.append("confirm recourse to public funds (ILR, refugee, right to reside, worker)")
    id_check = Criterion(
        name="identity_documents",
        status=Status.UNKNOWN
        if given.has_id is None
        else Status.MET
        if given.has_id
        else Status.NOT_MET,
        detail=", ".join(given.id_documents) or "none recorded",
    )
    if not given.has_id:
        actions.append("obtain ID before the presentation pack")
    return [funds_check, id_check], actions
