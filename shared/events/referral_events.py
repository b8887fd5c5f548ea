"""Events the referral service emits, and what partners may push to it over Kafka."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import BaseModel, Field

from shared.codes import LegalStage, RiskLevel, Route, Stage, SupportNeed, TenancyEndReason
from shared.events.base import EventData
from shared.topics import Topic
from shared.validation import (
    ArrearsBalance,
    Email,
    LastPaymentDate,
    LegalDate,
    PaymentAmount,
    ReportedOn,
    TenancyEndedOn,
    Text,
    WeeklyRent,
    Weeks,
)


class Referrer(BaseModel):
    """Who referred: the referring organisation, and a professional contact so notifications
    can close the loop. The organisation is never taken on the body's word: over HTTP it must
    be the caller's own (shared by its identity), on Kafka it is the ingress topic's owner.
    Someone outside it is a named contact: `name`, one `email` and a free-text `agency`."""

    organisation: Text | None = Field(
        default=None,
        max_length=200,
        description="set by the service: the caller's organisation over HTTP (another named "
        "here is refused), the ingress topic's owner on Kafka; always set on events",
    )
    source: Text = Field(
        max_length=100, description="referral source code, e.g. outreach_team, probation"
    )
    name: Text | None = Field(default=None, max_length=200, description="the contact person")
    email: Email | None = Field(default=None, description="the contact's one email address")
    agency: Text | None = Field(
        default=None,
        max_length=200,
        description="the contact's agency when outside the organisation",
    )
    reference: Text | None = Field(
        default=None, max_length=200, description="the referrer's reference"
    )


class ReferralReceived(EventData):
    TYPE: ClassVar[str] = "ReferralReceived"
    TOPIC: ClassVar[str] = Topic.REFERRAL_EVENTS

    case_id: str = Field(description="the referral id; the case keeps it for life")
    person_id: str = Field(description="pseudonymous person id")
    referrer: Referrer
    received_at: datetime
    support_needs: list[SupportNeed] = []
    tenancy_id: str | None = None
    automatic: bool = Field(False, description="raised by an arrears alert, not a person")
    possible_duplicate_of: str | None = Field(
        None,
        description="the person's earliest open referral in this organisation when this one "
        "arrived: kept and routed as usual, flagged for a team leader to merge",
    )


class ReferralAssessed(EventData):
    TYPE: ClassVar[str] = "ReferralAssessed"
    TOPIC: ClassVar[str] = Topic.REFERRAL_EVENTS

    case_id: str
    person_id: str
    route: Route
    reasons: list[str]
    referrer: Referrer
    received_at: datetime
    support_needs: list[SupportNeed] = []
    date_facing_homelessness: date | None = None
    legal_stage: LegalStage = LegalStage.NONE
    risk_level: RiskLevel | None = None
    repeat_cycle: bool = False
    tenancy_id: str | None = None
    referring_area: str | None = None
    specialist_service: str | None = None
    possible_duplicate_of: str | None = Field(
        None,
        description="the person's earliest open referral in this organisation when this one "
        "arrived: kept and routed as usual, flagged for a team leader to merge",
    )
    entry_stage: Stage = Field(
        Stage.STAGE_1,
        description="route support: the stage the case starts at (staged model: Stage 2 via "
        "the Supported Housing Panel, Stage 3 from self-referral, Stage 1 otherwise or in crisis)",
    )


class TenancyAtRisk(EventData):
    TYPE: ClassVar[str] = "TenancyAtRisk"
    TOPIC: ClassVar[str] = Topic.TENANCY_RISK

    tenancy_id: str
    landlord: str
    alert_id: str
    risk_level: RiskLevel
    reasons: list[str]
    arrears_balance: float
    weekly_rent: float | None = None
    weeks_in_arrears: float | None = None
    legal_stage: LegalStage = LegalStage.NONE
    eviction_date: date | None = None
    case_id: str | None = Field(None, description="the open case, when there is one")
    prevention_case_id: str | None = Field(None, description="referral raised by this alert")

    def subject(self) -> str:
        return self.tenancy_id


class TenancyArrearsReported(EventData):
    """A landlord's figures for a tenancy that has (or had) a case, when they changed: what
    outcomes needs for arrears at referral, at closure and six months on (issue 18). Repeats
    and tenancies never supported send nothing."""

    TYPE: ClassVar[str] = "TenancyArrearsReported"
    TOPIC: ClassVar[str] = Topic.TENANCY_RISK

    tenancy_id: str
    landlord: str
    alert_id: str
    reported_on: date
    arrears_balance: float
    weekly_rent: float | None = None
    legal_stage: LegalStage = LegalStage.NONE
    case_ids: list[str] = Field(default=[], description="the tenancy's cases the landlord may see")

    def subject(self) -> str:
        return self.tenancy_id


class TenancyEnded(EventData):
    """The landlord's notice that a tenancy ended, and why: sustainment and turnover."""

    TYPE: ClassVar[str] = "TenancyEnded"
    TOPIC: ClassVar[str] = Topic.TENANCY_RISK

    tenancy_id: str
    landlord: str
    alert_id: str
    ended_on: date
    reason: TenancyEndReason
    case_ids: list[str] = Field(default=[], description="the tenancy's cases the landlord may see")

    def subject(self) -> str:
        return self.tenancy_id


class ContactDetailsShared(EventData):
    """Contact details and preferences, published only with consent, for notifications only."""

    TYPE: ClassVar[str] = "ContactDetailsShared"
    TOPIC: ClassVar[str] = Topic.CONTACTS

    person_id: str
    case_id: str
    display_name: str
    email: str | None = None
    mobile: str | None = None
    postal_address: list[str] = []
    preferred_channels: list[str] = []
    consented_channels: list[str] = Field(default=[], description="channels the person allows")
    share_with: list[str] = Field(default=[], description="organisations consent covers")
    consent_version: int | None = Field(
        None, description="the case's consent these details were shared under (issue 16)"
    )

    def subject(self) -> str:
        return self.person_id


class TenancyReferenceShared(EventData):
    """The landlord's own reference of a tenancy, for notices that show it to people: on the
    restricted topic only (deleted once consumed, and erased with the person), because tenancy
    ids on the platform topics are keyed pseudonyms of it (`shared.ids.tenancy_id`)."""

    TYPE: ClassVar[str] = "TenancyReferenceShared"
    TOPIC: ClassVar[str] = Topic.CONTACTS

    tenancy_id: str
    landlord: str
    reference: str = Field(description="the landlord's tenancy reference (trimmed, upper case)")

    def subject(self) -> str:
        return self.tenancy_id


# --- inbound, from partners with direct broker access -----------------------------------


class ArrearsAlertSubmitted(EventData):
    """A housing association's arrears alert pushed to the arrears.alerts topic."""

    TYPE: ClassVar[str] = "ArrearsAlertSubmitted"
    TOPIC: ClassVar[str] = Topic.ARREARS_ALERTS

    # The same types as `ArrearsAlert` (shared/validation.py): decoding this event must not
    # turn `true` into 1.0 or accept year 1 before the alert model sees the value.
    tenancy_reference: Text
    arrears_balance: ArrearsBalance
    weekly_rent: WeeklyRent | None = None
    weeks_in_arrears: Weeks | None = None
    trend: Text | None = None
    last_payment_date: LastPaymentDate | None = None
    last_payment_amount: PaymentAmount | None = None
    legal_stage: LegalStage = LegalStage.NONE
    notice_served_date: LegalDate | None = None
    court_date: LegalDate | None = None
    possession_order_date: LegalDate | None = None
    eviction_date: LegalDate | None = None
    asb_issues: bool = False
    neighbour_issues: bool = False
    reported_on: ReportedOn | None = Field(None, description="day the figures are for")
    landlord: Text | None = Field(
        None, description="optional; must equal the envelope's organisation (the landlord)"
    )
    tenancy_ended_on: TenancyEndedOn | None = Field(
        None, description="the day the tenancy ended; with tenancy_end_reason (both or neither)"
    )
    tenancy_end_reason: TenancyEndReason | None = Field(
        None, description="why the tenancy ended; with tenancy_ended_on (both or neither)"
    )

    def subject(self) -> str:
        return self.tenancy_reference
