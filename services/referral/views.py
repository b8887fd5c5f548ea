"""What a referrer is told about a referral: the HTTP response shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from services.referral.status import ReferralStatus
from shared.codes import Route
from shared.events.referral_events import Referrer
from shared.mongo import Document


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
    person_id: str = Field(description="pseudonymous person id (same person, same id)")
    repeat_cycle: bool = False


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
    history: list[StatusChange] = []


class ReferralDetail(ReferralSummary):
    """One referral with what was submitted; only ever shown to the owning organisation."""

    possible_matches: list[str] = Field(
        default=[], description="other person ids that may be the same person (linked only)"
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


def _common(doc: Document) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "status": doc["status"],
        "route": doc.get("route"),
        "reasons": doc.get("reasons", []),
        "specialist_service": doc.get("specialist_service"),
        "person_id": doc["person_id"],
        "repeat_cycle": doc.get("repeat_cycle", False),
    }


def accepted(doc: Document) -> ReferralAccepted:
    return ReferralAccepted(**_common(doc))


def summary(doc: Document) -> ReferralSummary:
    return ReferralSummary(**_common(doc), **_timeline(doc))


def detail(doc: Document) -> ReferralDetail:
    return ReferralDetail(
        **_common(doc),
        **_timeline(doc),
        possible_matches=doc.get("possible_matches", []),
        submission=doc["submission"],
    )


def _timeline(doc: Document) -> dict[str, Any]:
    return {
        "organisation": doc["organisation"],
        "source": doc["source"],
        "automatic": doc.get("automatic", False),
        "referrer": doc["referrer"],
        "tenancy_id": doc.get("tenancy_id"),
        "received_at": doc["received_at"],
        "assessed_at": doc.get("assessed_at"),
        "allocated_at": doc.get("allocated_at"),
        "closed_at": doc.get("closed_at"),
        "closure_reason": doc.get("closure_reason"),
        "tenancy_outcome": doc.get("tenancy_outcome"),
        "history": [{"status": h["status"], "at": h["at"]} for h in doc.get("history", [])],
    }
