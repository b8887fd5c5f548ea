"""Events of the reconnection (Safe Connections) service."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import Field

from shared.codes import LearningTheme
from shared.events.base import EventData
from shared.topics import Topic

# A pack's PDF travels inside the event: kept well under the broker's 1 MB record limit.
PACK_PDF_MAX_BASE64 = 700_000
# The template name the notifications service records the pack's email under.
PRESENTATION_PACK_TEMPLATE = "presentation_pack"


class ReconnectionPhaseChanged(EventData):
    TYPE: ClassVar[str] = "ReconnectionPhaseChanged"
    TOPIC: ClassVar[str] = Topic.CASE_EVENTS

    case_id: str
    previous_phase: str | None
    phase: str
    changed_on: date
    destination_area: str | None = None


class PresentationPackDue(EventData):
    """The presentation pack goes to the destination authority the day before reconnection."""

    TYPE: ClassVar[str] = "PresentationPackDue"
    TOPIC: ClassVar[str] = Topic.RECONNECTION_EVENTS

    case_id: str
    destination_area: str
    reconnection_date: date
    # The pack as the reconnection service generated and keeps it (issue 20). Its letter and
    # PDF are personal data: they travel apart, as PresentationPackForDelivery on the
    # restricted topic (purged once consumed), never on this one.
    document_id: str | None = None
    deliver_by: datetime | None = Field(None, description="the start of the presentation day")


class PresentationPackForDelivery(EventData):
    """The pack itself, for the notifications service to email to the destination's Housing
    Options officer, the PDF attached (Safe Connections Phase 5). On the restricted topic:
    the letter and the pack hold the client's local-connection details."""

    TYPE: ClassVar[str] = "PresentationPackForDelivery"
    TOPIC: ClassVar[str] = Topic.CONTACTS

    case_id: str
    destination_area: str
    reconnection_date: date
    document_id: str
    recipient_name: str | None = Field(None, max_length=200)
    recipient_email: str | None = Field(None, max_length=254)
    recipient_organisation: str | None = Field(None, max_length=100)
    email_subject: str | None = Field(None, max_length=500)
    covering_letter: str | None = Field(None, max_length=20_000)
    filename: str | None = Field(None, max_length=200)
    pdf_base64: str | None = Field(None, max_length=PACK_PDF_MAX_BASE64)
    deliver_by: datetime | None = Field(None, description="the start of the presentation day")


class ReconnectionFollowedUp(EventData):
    """Three months after the reconnection (Tool 4, Steps 1-2): is the client still in
    accommodation and engaged in the destination area? The outcome Safe Connections is judged by."""

    TYPE: ClassVar[str] = "ReconnectionFollowedUp"
    TOPIC: ClassVar[str] = Topic.CASE_EVENTS

    case_id: str
    destination_area: str | None = None
    reconnected_on: date | None = None
    followed_up_on: date
    still_in_accommodation: bool
    engaged: bool | None = None
    returned_to_rough_sleeping: bool = False


class LearningPointsRecorded(EventData):
    """Learning points logged (Step 11): their themes only, never their words."""

    TYPE: ClassVar[str] = "LearningPointsRecorded"
    TOPIC: ClassVar[str] = Topic.RECONNECTION_EVENTS

    entry_id: str
    case_id: str | None = None
    recorded_on: date
    points: int = Field(ge=0, description="how many points the entry holds")
    themes: list[LearningTheme] = []

    def subject(self) -> str:
        return self.case_id or self.entry_id
