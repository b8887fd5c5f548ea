"""What a referrer is told about a referral: the HTTP response shapes."""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from services.referral.referral import MatchResolution, Referral
from services.referral.status import ReferralStatus
from shared.codes import Route
from shared.events.referral_events import Referrer


class StatusChange(BaseModel):
    status: ReferralStatus
    at: datetime


class ReferralAccepted(BaseModel):
    """The answer to POST /v1/referrals."""

    id: str = Field(description="the referral id; the case keeps it for life")
    status: ReferralStatus
    route: Route | None = None
    reasons: list[str] = []
    specialist_service: str | None = None
    person_id: str = Field(
        description="pseudonymous person id within your organisation (same person, same id); "
        "another organisation's referral of the same person has its own"
    )
    repeat_cycle: bool = False
    possible_duplicate_of: str | None = Field(
        None,
        description="the person's earliest open referral in your organisation when this one "
        "arrived (shown when it is within your reach); this referral is kept and routed as "
        "usual, flagged for a team leader to merge",
    )
    linked_referrals: list[str] = Field(
        default=[], description="the same person's other open referrals here, within your reach"
    )
    partner_matches: list[str] = Field(
        default=[],
        description="organisations you have a live person-matching agreement with that also "
        "know this person: only that a match exists, never their records",
    )
    warnings: list[str] = Field(default=[], description="what the referrer should know")


class ReferralSummary(ReferralAccepted):
    organisation: str
    source: str
    automatic: bool = False
    referrer: Referrer
    tenancy_id: str | None = None
    received_at: datetime
    assessed_at: datetime | None = None
    allocated_at: datetime | None = None
    closed_at: datetime | None = None
    closure_reason: str | None = None
    tenancy_outcome: str | None = None
    team_id: str | None = Field(None, description="the allocated team, once allocated")
    lead_worker_id: str | None = Field(None, description="the lead worker, once allocated")
    history: list[StatusChange] = []
    person_name: str = Field(
        "", description="the person's name as referred (empty once erased or never given)"
    )


class ReferralDetail(ReferralSummary):
    """One referral with what was submitted; only ever shown to the owning organisation."""

    possible_matches: list[str] = Field(
        default=[],
        description="other person ids of your organisation that may be the same person "
        "(linked only)",
    )
    match_decisions: list[MatchResolution] = Field(
        default=[], description="possible matches resolved: the same person or not, by whom"
    )
    submission: dict[str, Any]


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    """Every 4xx: a summary, and for input errors each field with what is wrong with it."""

    detail: str
    errors: list[FieldError] = []


class ReferralList(BaseModel):
    referrals: list[ReferralSummary]


DUPLICATE_WARNING = (
    "person_id: this person already has an open referral in your organisation; this one is "
    "kept and linked to it for a team leader to review"
)


def _common(referral: Referral, visible: Container[str]) -> dict[str, Any]:
    """`visible`: the linked referral ids the caller may see (others stay unnamed, as a
    record outside one's reach is as if absent; the warning still says there is one)."""
    duplicate_of = referral.possible_duplicate_of
    return {
        "id": referral.referral_id,
        "status": referral.status,
        "route": referral.route,
        "reasons": referral.reasons,
        "specialist_service": referral.specialist_service,
        "person_id": referral.person_id,
        "repeat_cycle": referral.repeat_cycle,
        "possible_duplicate_of": duplicate_of if duplicate_of in visible else None,
        "linked_referrals": [r for r in referral.linked_referrals if r in visible],
        "partner_matches": referral.partner_matches,
        "warnings": [DUPLICATE_WARNING] if duplicate_of else [],
    }


def linked_ids(referrals: list[Referral]) -> set[str]:
    """Every referral id the referrals link to."""
    ids = {r.possible_duplicate_of for r in referrals if r.possible_duplicate_of}
    return ids.union(*(r.linked_referrals for r in referrals))


def accepted(referral: Referral, visible: Container[str]) -> ReferralAccepted:
    return ReferralAccepted(**_common(referral, visible))


def summary(referral: Referral, visible: Container[str]) -> ReferralSummary:
    return ReferralSummary(
        **_common(referral, visible), **_timeline(referral), person_name=person_name(referral)
    )


def person_name(referral: Referral) -> str:
    """Given and family name from the submission, so a list can name people in one call."""
    person = referral.submission.get("person") or {}
    return " ".join(str(p) for p in (person.get("given_name"), person.get("family_name")) if p)


def detail(referral: Referral, visible: Container[str]) -> ReferralDetail:
    return ReferralDetail(
        **_common(referral, visible),
        **_timeline(referral),
        possible_matches=referral.possible_matches,
        match_decisions=referral.match_decisions,
        submission=referral.submission,
        person_name=person_name(referral),
    )


def _timeline(referral: Referral) -> dict[str, Any]:
    return {
        "organisation": referral.organisation,
        "source": referral.source,
        "automatic": referral.automatic,
        "referrer": referral.referrer,
        "tenancy_id": referral.tenancy_id,
        "received_at": referral.received_at,
        "assessed_at": referral.assessed_at,
        "allocated_at": referral.allocated_at,
        "closed_at": referral.closed_at,
        "closure_reason": referral.closure_reason,
        "tenancy_outcome": referral.tenancy_outcome,
        "team_id": referral.team_id,
        "lead_worker_id": referral.lead_worker_id,
        "history": [{"status": h.status, "at": h.at} for h in referral.history],
    }
