"""What a referrer is told about a referral: the HTTP response shapes."""

from __future__ import annotations

from collections.abc import Container
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
    possible_duplicate_of: str | None = Field(
        None,
        description="the person's earliest open referral in your organisation when this one "
        "arrived (shown when it is within your reach); this referral is kept and routed as "
        "usual, flagged for a team leader to merge",
    )
    linked_referrals: list[str] = Field(
        default=[], description="the same person's other open referrals here, within your reach"
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


DUPLICATE_WARNING = (
    "person_id: this person already has an open referral in your organisation; this one is "
    "kept and linked to it for a team leader to review"
)


def _common(doc: Document, visible: Container[str]) -> dict[str, Any]:
    """`visible`: the linked referral ids the caller may see (others stay unnamed, as a
    record outside one's reach is as if absent; the warning still says there is one)."""
    duplicate_of = doc.get("possible_duplicate_of")
    return {
        "id": doc["_id"],
        "status": doc["status"],
        "route": doc.get("route"),
        "reasons": doc.get("reasons", []),
        "specialist_service": doc.get("specialist_service"),
        "person_id": doc["person_id"],
        "repeat_cycle": doc.get("repeat_cycle", False),
        "possible_duplicate_of": duplicate_of if duplicate_of in visible else None,
        "linked_referrals": [r for r in doc.get("linked_referrals", []) if r in visible],
        "warnings": [DUPLICATE_WARNING] if duplicate_of else [],
    }


def linked_ids(docs: list[Document]) -> set[str]:
    """Every referral id the documents link to."""
    ids = {d["possible_duplicate_of"] for d in docs if d.get("possible_duplicate_of")}
    return ids.union(*(d.get("linked_referrals", []) for d in docs))


def accepted(doc: Document, visible: Container[str]) -> ReferralAccepted:
    return ReferralAccepted(**_common(doc, visible))


def summary(doc: Document, visible: Container[str]) -> ReferralSummary:
    return ReferralSummary(**_common(doc, visible), **_timeline(doc))


def detail(doc: Document, visible: Container[str]) -> ReferralDetail:
    return ReferralDetail(
        **_common(doc, visible),
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
