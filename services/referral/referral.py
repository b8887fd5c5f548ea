"""A referral as the service keeps it: the typed record the intake creates, the case events move
on, and the API shows. Stored one document per referral (`_id` = referral id = case id) by
`store.ReferralRepository`; the submission (personal data) stays here and nowhere else."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.referral.status import ReferralStatus
from shared.auth import Caller
from shared.codes import Route
from shared.events.referral_events import Referrer


class StatusEntry(BaseModel):
    status: ReferralStatus
    at: datetime
    event_id: str | None = None


class MatchResolution(BaseModel):
    """A possible match someone looked at: the same person (linked), or not (unlinked)."""

    person_id: str
    same_person: bool
    by: str
    at: datetime


REFERRED_BY = "referred_by"  # the field `Caller.reach_filter(made_by=)` names


class Referral(BaseModel):
    referral_id: str
    organisation: str
    channel: str = "http"
    status: ReferralStatus
    route: Route | None = None
    reasons: list[str] = []
    specialist_service: str | None = None
    repeat_cycle: bool = False
    person_id: str
    matched_on: str | None = None
    possible_matches: list[str] = []  # person ids of this organisation only
    match_decisions: list[MatchResolution] = []  # possible matches a person resolved
    # Organisations with a live person-matching agreement that knew the person at intake;
    # never their person ids or records.
    partner_matches: list[str] = []
    possible_duplicate_of: str | None = None  # the person's earliest open referral here
    linked_referrals: list[str] = []  # the person's other open referrals here
    source: str
    automatic: bool = False
    referrer: Referrer
    tenancy_id: str | None = None
    submission: dict[str, Any]
    received_at: datetime
    assessed_at: datetime | None = None
    history: list[StatusEntry] = []
    # Moved on by the case events:
    allocated_at: datetime | None = None
    allocated_route: str | None = None
    lead_worker_id: str | None = None
    team_id: str | None = None
    closed_at: datetime | None = None
    closure_reason: str | None = None
    tenancy_outcome: str | None = None
    # An HTTP referral's retry is recognised by these (`api.submit_referral`).
    idempotency_key: str | None = None
    # The signed-in person who made it (an identity provider subject): they keep sight of its
    # status after it is allocated to a team that is not theirs.
    referred_by: str | None = None

    def visible_to(self, caller: Caller) -> bool:
        return caller.sees(self.team_id, self.lead_worker_id, made_by=self.referred_by)

    request_hash: str | None = None

    @property
    def is_open(self) -> bool:
        """Someone is (or will be) working it: not closed, and routed to a service of ours."""
        return self.status is not ReferralStatus.CLOSED and self.route in (
            Route.SUPPORT,
            Route.RECONNECTION,
        )
