"""Code lists shared by several services. Support needs follow H-CLIC's list, with the few
extra needs the seeds name (budgeting, benefits) marked as Hearth additions."""

from __future__ import annotations

from enum import StrEnum


class SupportNeed(StrEnum):
    # H-CLIC support needs
    MENTAL_HEALTH = "mental_health"
    PHYSICAL_HEALTH = "physical_health"  # physical ill health and disability (incl. HIV)
    LEARNING_DISABILITY = "learning_disability"
    DRUG_DEPENDENCY = "drug_dependency"
    ALCOHOL_DEPENDENCY = "alcohol_dependency"
    OFFENDING = "offending"
    DOMESTIC_ABUSE = "domestic_abuse"
    SEXUAL_ABUSE = "sexual_abuse"
    OTHER_ABUSE = "other_abuse"
    REPEAT_HOMELESSNESS = "repeat_homelessness"
    ROUGH_SLEEPING = "rough_sleeping"
    YOUNG_PERSON_16_17 = "young_person_16_17"
    YOUNG_PERSON_18_25 = "young_person_18_25"
    YOUNG_PARENT = "young_parent"
    CARE_LEAVER_18_20 = "care_leaver_18_20"
    CARE_LEAVER_21_PLUS = "care_leaver_21_plus"
    FORMER_ASYLUM_SEEKER = "former_asylum_seeker"
    ARMED_FORCES = "armed_forces"
    OLD_AGE = "old_age"
    EDUCATION_EMPLOYMENT_TRAINING = "education_employment_training"
    # Hearth additions from the seeds
    BUDGETING_DEBT = "budgeting_debt"
    BENEFITS = "benefits"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RISK_RANK[self]


_RISK_RANK = {level: n for n, level in enumerate(RiskLevel)}  # read per alert: built once


class LegalStage(StrEnum):
    NONE = "none"
    NOTICE_SERVED = "notice_served"
    COURT_DATE_SET = "court_date_set"
    POSSESSION_ORDER = "possession_order"
    EVICTION_DATE_SET = "eviction_date_set"

    @property
    def rank(self) -> int:
        return _LEGAL_RANK[self]


_LEGAL_RANK = {stage: n for n, stage in enumerate(LegalStage)}


class Route(StrEnum):
    SUPPORT = "support"  # tenancy / floating support
    RECONNECTION = "reconnection"  # Safe Connections
    SPECIALIST = "specialist"  # redirected to a specialist service
    DECLINED = "declined"


class Stage(StrEnum):
    STAGE_1 = "stage_1"  # crisis intervention, 8-12 weeks
    STAGE_2 = "stage_2"  # 3 months to 2 years
    STAGE_3 = "stage_3"  # low-level support, up to 2 years


class ClosureReason(StrEnum):
    PLAN_ACHIEVED = "plan_achieved"
    MOVED_ON = "moved_on"
    TENANCY_SUSTAINED = "tenancy_sustained"
    RECONNECTED = "reconnected"
    EVICTED = "evicted"
    ABANDONED = "abandoned"
    DISENGAGED = "disengaged"
    NO_PROGRESS = "no_progress"
    TRANSFERRED = "transferred"
    DECEASED = "deceased"
    CUSTODY = "custody"
    HOSPITAL = "hospital"
    DECLINED_SUPPORT = "declined_support"
    SUPPORT_LIMIT_REACHED = "support_limit_reached"  # the two-year limit, no override


class TenancyOutcome(StrEnum):
    SUSTAINED = "sustained"
    MOVED_ON_PLANNED = "moved_on_planned"
    EVICTED = "evicted"
    ABANDONED = "abandoned"
    SURRENDERED = "surrendered"
    NOT_APPLICABLE = "not_applicable"
    UNKNOWN = "unknown"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    LETTER = "letter"
    PHONE = "phone"
    WHATSAPP = "whatsapp"
    WEBHOOK = "webhook"


class TenancyEndReason(StrEnum):
    """Why a landlord's feed says a tenancy ended (issue 18: sustainment and turnover)."""

    EVICTION = "eviction"  # possession carried out
    ABANDONMENT = "abandonment"
    SURRENDER = "surrender"  # the tenant gave notice
    TRANSFER = "transfer"  # moved to another of the landlord's homes (a planned move)
    MUTUAL_EXCHANGE = "mutual_exchange"
    MOVED_ON = "moved_on"  # left for other settled housing (a planned move)
    DECEASED = "deceased"
    OTHER = "other"

    @property
    def failed(self) -> bool:
        """A tenancy that failed, as against one that ended by a planned move or a death."""
        return self in (
            TenancyEndReason.EVICTION,
            TenancyEndReason.ABANDONMENT,
            TenancyEndReason.SURRENDER,
            TenancyEndReason.OTHER,
        )


class LearningTheme(StrEnum):
    """What a learning point is about (Safe Connections Step 11), so the log can be counted
    without reading its free text."""

    DESTINATION_AUTHORITY = "destination_authority"  # early contact, Part VII, the decision
    ACCOMMODATION = "accommodation"
    ENGAGEMENT = "engagement"
    HEALTH = "health"
    SUBSTANCE_USE = "substance_use"
    DOCUMENTS_AND_BENEFITS = "documents_and_benefits"
    TRAVEL_AND_BUDGET = "travel_and_budget"
    FAMILY_AND_NETWORKS = "family_and_networks"
    PARTNERSHIP_WORKING = "partnership_working"
    SAFETY = "safety"
    OTHER = "other"
