"""The referral as submitted, over HTTP or on the referral.intake topic.

`ReferralSubmission` is exactly what `POST /v1/referrals` accepts and what `ReferralSubmitted`
carries, so partners with broker access, the arrears part of the referral service and the HTTP
form all speak one model. It captures what the seeds and the duty-to-refer minimum need.
Personal data in it stays inside the referral service; other services see ids and codes.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.codes import Channel, LegalStage, RiskLevel, SupportNeed
from shared.consent import ConsentPurpose
from shared.events.base import EventData
from shared.events.referral_events import Referrer
from shared.topics import Topic
from shared.validation import (
    BirthDate,
    Email,
    HistoryDate,
    LegalDate,
    RoughSleepingDate,
    Text,
)

REFERRAL_ID_PATTERN = r"^[A-Za-z0-9._:@-]+$"


class ReferralSource(StrEnum):
    HOUSING_OFFICER = "housing_officer"
    DISTRICT_HOUSING_TEAM = "district_housing_team"
    SUPPORTED_HOUSING_PANEL = "supported_housing_panel"
    SELF_REFERRAL = "self_referral"
    CITIZENS_ADVICE = "citizens_advice"
    OUTREACH_TEAM = "outreach_team"
    HOUSING_REGISTER_TRIAGE = "housing_register_triage"
    ARREARS_ALERT = "arrears_alert"  # automatic, raised by the arrears part of this service
    # Public bodies under the duty to refer (Homelessness Reduction Act 2017, s.213B).
    PROBATION = "probation"
    PRISON = "prison"
    YOUTH_OFFENDING_TEAM = "youth_offending_team"
    HOSPITAL = "hospital"
    MENTAL_HEALTH_SERVICE = "mental_health_service"
    CHILDRENS_SERVICES = "childrens_services"  # incl. leaving-care teams
    ADULT_SOCIAL_CARE = "adult_social_care"
    JOBCENTRE = "jobcentre"
    ARMED_FORCES = "armed_forces"
    OTHER_PUBLIC_BODY = "other_public_body"
    OTHER = "other"

    @property
    def duty_to_refer(self) -> bool:
        return self in DUTY_TO_REFER_SOURCES


DUTY_TO_REFER_SOURCES = frozenset(
    {
        ReferralSource.PROBATION,
        ReferralSource.PRISON,
        ReferralSource.YOUTH_OFFENDING_TEAM,
        ReferralSource.HOSPITAL,
        ReferralSource.MENTAL_HEALTH_SERVICE,
        ReferralSource.CHILDRENS_SERVICES,
        ReferralSource.ADULT_SOCIAL_CARE,
        ReferralSource.JOBCENTRE,
        ReferralSource.ARMED_FORCES,
        ReferralSource.OTHER_PUBLIC_BODY,
    }
)


class _Strict(BaseModel):
    # Unknown fields are refused, so a misspelt field gets an error naming it.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class HouseholdMember(_Strict):
    name: Text | None = Field(None, max_length=200)
    relationship: Text | None = Field(None, max_length=100, description="e.g. partner, child")
    date_of_birth: BirthDate | None = None
    pregnant: bool = False


class Person(_Strict):
    given_name: Text = Field(min_length=1, max_length=100)
    family_name: Text = Field(min_length=1, max_length=100)
    date_of_birth: BirthDate | None = None
    ni_number: Text | None = Field(None, max_length=20, description="National Insurance number")
    gender: Text | None = Field(None, max_length=50)
    household: list[HouseholdMember] = Field(default=[], max_length=30)

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class ContactDetails(_Strict):
    phone: Text | None = Field(None, max_length=40)
    mobile: Text | None = Field(None, max_length=40, description="for SMS and WhatsApp")
    email: Email | None = Field(None, description="exactly one address")
    postal_address: list[Text] = Field(default=[], max_length=8)
    preferred_channels: list[Channel] = Field(default=[], description="in order of preference")
    safe_to_leave_messages: bool = True


class Consent(_Strict):
    """Consent as taken at intake; the referral service records it as the case's consent
    (`shared/consent.py`), which staff then vary or withdraw. Bodies without `purposes` keep
    their old meaning: every purpose when `to_share`, none otherwise."""

    EARLIEST_EXPIRY: ClassVar[date] = date(2020, 1, 1)
    LATEST_EXPIRY: ClassVar[date] = date(2099, 12, 31)

    to_record: bool = Field(description="consent to hold their details; must be true")
    to_share: bool = False
    share_with: list[str] = Field(
        default=[], max_length=50, description="other organisations the consent covers"
    )
    channels_allowed: list[Channel] = Field(default=[], description="channels we may use")
    purposes: list[ConsentPurpose] | None = Field(
        None,
        max_length=len(ConsentPurpose),
        description="what the data may be used for: contact (messages to the person) and "
        "sharing purposes; absent: all of them when to_share, none otherwise",
    )
    expires_on: date | None = Field(None, description="from this day nothing is covered")

    @field_validator("to_record")
    @classmethod
    def _recording_needs_consent(cls, value: bool) -> bool:
        if not value:
            raise ValueError("the person must consent to the referral being recorded")
        return value

    @field_validator("expires_on")
    @classmethod
    def _plausible_expiry(cls, value: date | None) -> date | None:
        # Fixed bounds here (an event is decoded again later, when "today" has moved on);
        # "after today" is checked where consent is recorded or varied.
        if value is not None and not cls.EARLIEST_EXPIRY <= value <= cls.LATEST_EXPIRY:
            raise ValueError(f"must be between {cls.EARLIEST_EXPIRY} and {cls.LATEST_EXPIRY}")
        return value


class TenancyDetails(_Strict):
    landlord_organisation: Text = Field(min_length=1, max_length=200)
    tenancy_reference: Text = Field(min_length=1, max_length=100)
    tenure: Text | None = Field(None, max_length=100, description="e.g. secure, assured, private")
    address: list[Text] = Field(default=[], max_length=8)


class Urgency(_Strict):
    date_facing_homelessness: LegalDate | None = Field(
        None, description="within two years past and five years ahead"
    )
    legal_stage: LegalStage = LegalStage.NONE
    risk_level: RiskLevel | None = None
    notes: Text | None = Field(None, max_length=2000)


class HousingHistoryEntry(_Strict):
    accommodation: Text = Field(
        min_length=1, max_length=200, description="e.g. social tenancy, hostel, sofa surfing"
    )
    area: Text | None = Field(None, max_length=200)
    from_date: HistoryDate | None = None
    to_date: HistoryDate | None = None
    reason_left: Text | None = Field(None, max_length=500)


class RoughSleepingHistory(_Strict):
    """Outreach contacts: the Safe Connections 'living on the street' evidence."""

    contacts: int = Field(0, ge=0, le=10_000, description="outreach contacts seen sleeping rough")
    bedded_down_contacts: int = Field(0, ge=0, le=10_000)
    period_start: RoughSleepingDate | None = None
    period_end: RoughSleepingDate | None = None
    intermittent: bool = False
    currently_rough_sleeping: bool = False

    @model_validator(mode="after")
    def _period_in_order(self) -> RoughSleepingHistory:
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValueError("period_end: must not be before period_start")
        return self


class LocalConnection(_Strict):
    area: Text = Field(min_length=1, max_length=200)
    evidence: list[Text] = Field(
        default=[], max_length=20, description="e.g. lived 6 of last 12 months, family, work"
    )


class ReferralSubmission(_Strict):
    source: ReferralSource
    referrer: Referrer
    automatic: bool = Field(False, description="raised by an arrears alert, not a person")
    person: Person | None = None
    contact: ContactDetails | None = None
    consent: Consent | None = None
    tenancy: TenancyDetails | None = None
    support_needs: list[SupportNeed] = Field(default=[], max_length=len(SupportNeed))
    urgency: Urgency = Field(default_factory=lambda: Urgency.model_validate({}))
    housing_history: list[HousingHistoryEntry] = Field(default=[], max_length=50)
    rough_sleeping: RoughSleepingHistory | None = None
    local_connections: list[LocalConnection] = Field(default=[], max_length=20)
    referring_area: Text | None = Field(None, max_length=200, description="area referred in")
    id_held: list[Text] = Field(default=[], max_length=20, description="e.g. passport, birth cert")
    recourse_to_public_funds: bool | None = Field(None, description="None when not known")
    notes: Text | None = Field(None, max_length=4000)

    @model_validator(mode="after")
    def _complete_enough(self) -> ReferralSubmission:
        if self.automatic:
            if self.tenancy is None:
                raise ValueError("tenancy: required for an automatic referral")
            return self
        if self.source == ReferralSource.ARREARS_ALERT:
            raise ValueError("automatic: must be true for source arrears_alert")
        if self.person is None:
            raise ValueError("person: required for a referral of a person")
        if self.consent is None:
            raise ValueError("consent: required for a referral of a person")
        return self


class ReferralSubmitted(EventData):
    """A referral pushed to referral.intake by a partner or by the arrears part."""

    TYPE: ClassVar[str] = "ReferralSubmitted"
    TOPIC: ClassVar[str] = Topic.REFERRAL_INTAKE

    referral_id: str = Field(
        min_length=1,
        max_length=200,
        pattern=REFERRAL_ID_PATTERN,
        description="becomes the case id; the sender picks it (letters, digits, . _ : @ -)",
    )
    submission: ReferralSubmission

    def subject(self) -> str:
        return self.referral_id
