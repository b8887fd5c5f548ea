"""Import this module to register every event type; it re-exports them for convenience."""

from shared.events.agreement_events import AgreementChanged
from shared.events.audit_events import AuditRecorded
from shared.events.base import EventData, event_type_name, model_for_type, registered_types
from shared.events.case_events import (
    CaseAllocated,
    CaseClosed,
    CaseEscalated,
    CaseReallocated,
    CaseworkerCapacityChanged,
    ContactLogged,
    ReviewCompleted,
    ReviewDue,
    StageChanged,
    SupportPlanAgreed,
)
from shared.events.consent_events import ConsentChanged
from shared.events.history_events import HistoryImported
from shared.events.notification_events import NotificationFailed, NotificationSent
from shared.events.privacy_events import (
    ErasureCarriedOut,
    ErasureRequested,
    SubjectAccessRequested,
    SubjectDataContributed,
)
from shared.events.reconnection_events import (
    LearningPointsRecorded,
    PresentationPackDue,
    PresentationPackForDelivery,
    ReconnectionFollowedUp,
    ReconnectionPhaseChanged,
)
from shared.events.referral_events import (
    ArrearsAlertSubmitted,
    ContactDetailsShared,
    ReferralAssessed,
    ReferralReceived,
    Referrer,
    TenancyArrearsReported,
    TenancyAtRisk,
    TenancyEnded,
    TenancyReferenceShared,
)
from shared.events.referral_intake import ReferralSubmission, ReferralSubmitted

__all__ = [
    "AgreementChanged",
    "ArrearsAlertSubmitted",
    "AuditRecorded",
    "CaseAllocated",
    "CaseClosed",
    "CaseEscalated",
    "CaseReallocated",
    "CaseworkerCapacityChanged",
    "ConsentChanged",
    "ContactDetailsShared",
    "ContactLogged",
    "ErasureCarriedOut",
    "ErasureRequested",
    "EventData",
    "HistoryImported",
    "LearningPointsRecorded",
    "NotificationFailed",
    "NotificationSent",
    "PresentationPackDue",
    "PresentationPackForDelivery",
    "ReconnectionFollowedUp",
    "ReconnectionPhaseChanged",
    "ReferralAssessed",
    "ReferralReceived",
    "ReferralSubmission",
    "ReferralSubmitted",
    "Referrer",
    "ReviewCompleted",
    "ReviewDue",
    "StageChanged",
    "SubjectAccessRequested",
    "SubjectDataContributed",
    "SupportPlanAgreed",
    "TenancyArrearsReported",
    "TenancyAtRisk",
    "TenancyEnded",
    "TenancyReferenceShared",
    "event_type_name",
    "model_for_type",
    "registered_types",
]
