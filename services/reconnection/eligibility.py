"""Tool 3, the Safe Connections referral criteria, as a pure check.

A client qualifies with all three criteria: (1) a local connection outside the referring area,
(2) a history of rough sleeping or current rough sleeping, (3) multiple needs. The referral form
also asks about recourse to public funds (without it there is no Part VII application, so no
reconnection through housing options) and ID (needed for the presentation pack: an action, not a
bar).

Criterion 2 (rough sleeping) is the platform's one rule, shared/rough_sleeping.py, which
referral screening applies too.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field

from services.reconnection.dates import BoundedDate
from services.reconnection.local_connection import AreaCountry
from services.reconnection.service_area import ServiceArea, boroughs_of, qualifying_areas
from shared.codes import SupportNeed
from shared.rough_sleeping import RoughSleepingCategory, categories, record_of_contacts

MULTIPLE_NEEDS_MIN = 2
# Homelessness itself is why the client is referred; "multiple needs" means needs beyond it.
NOT_COUNTED_AS_NEEDS = frozenset({SupportNeed.ROUGH_SLEEPING, SupportNeed.REPEAT_HOMELESSNESS})


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
    """Criterion 2 on the dated street contacts (shared/rough_sleeping.py)."""
    dated = [(c.on, c.bedded_down) for c in contacts]
    return categories(record_of_contacts(dated, seen_before_period, today))


def assess_eligibility(
    given: EligibilityInput,
    *,
    today: date,
    referral_needs: list[SupportNeed],
    referring_area: str | None,
    connection_areas: list[str] | None,
    service_area: ServiceArea | None = None,
    countries: list[AreaCountry] | None = None,
) -> EligibilityResult:
    """`connection_areas`: the local-connection candidates (None: not assessed yet);
    `service_area`: the organisation's boroughs (None: the referring area stands for them)."""
    boroughs = boroughs_of(service_area, referring_area)
    criteria = [
        _local_connection(boroughs, connection_areas, countries or []),
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


def _local_connection(
    boroughs: list[str], areas: list[str] | None, countries: list[AreaCountry]
) -> Criterion:
    """Criterion 1: "A local connection outside of LB of Hackney, LB of Tower Hamlets and the
    City of London but within the UK" (service_area.py)."""
    name = "local_connection_outside_referring_area"
    if areas is None:
        return Criterion(name=name, status=Status.UNKNOWN, detail="local connection not assessed")
    outside, refused = qualifying_areas(areas, boroughs, countries)
    if outside:
        return Criterion(name=name, status=Status.MET, detail=f"connected to {', '.join(outside)}")
    where = ", ".join(boroughs) if boroughs else "the service area"
    detail = f"no local connection outside {where} but within the UK"
    return Criterion(
        name=name,
        status=Status.NOT_MET,
        detail="; ".join([detail, *refused]),
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
