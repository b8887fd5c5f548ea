"""Request bodies of the reconnection API that are not domain models themselves, and the
path parameters' validation."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, Field

from services.reconnection.dates import BoundedDate
from services.reconnection.model import AgencyNotice, ItemStatus, PartVIIStatus, SpendCategory
from shared.codes import ClosureReason, LearningTheme, SupportNeed

CaseId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$", description="the referral id")
]
ItemId = Annotated[str, Path(pattern=r"^[a-z0-9_]{1,64}$")]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]
Note = Annotated[str | None, Field(None, max_length=2000)]


class OpenCase(BaseModel):
    """Phase 1, identify: a client identified as suitable for reconnection."""

    case_id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$",
        description="the referral id (a case keeps its referral's id)",
    )
    person_id: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
    referring_area: str | None = Field(
        None, min_length=1, max_length=100, description="where the client was contacted"
    )
    referrer_organisation: str | None = Field(None, min_length=1, max_length=100)
    support_needs: list[SupportNeed] = Field(default_factory=list, max_length=len(SupportNeed))


class ItemNote(BaseModel):
    note: Note = None


class NotApplicable(BaseModel):
    reason: Reason


class Destination(BaseModel):
    area: str = Field(min_length=1, max_length=100)


class PartVIIUpdate(BaseModel):
    status: PartVIIStatus = Field(description="submitted, then positive or negative")
    on: BoundedDate
    reference: str | None = Field(None, max_length=100)


class PackItemUpdate(BaseModel):
    status: ItemStatus = Field(description="done or not_applicable (with reason)")
    reason: str | None = Field(None, max_length=2000)
    note: Note = None


class ReconnectionDate(BaseModel):
    reconnection_date: BoundedDate


class BudgetAllocation(BaseModel):
    allocated_pence: int = Field(ge=0, le=10_000_000)


class SpendIn(BaseModel):
    amount_pence: int = Field(gt=0, le=10_000_000)
    category: SpendCategory
    note: Note = None
    approved_overspend_reason: str | None = Field(
        None, max_length=2000, description="accepts (and flags) a spend beyond the budget"
    )


class PreClosureAnswers(BaseModel):
    sufficient_local_support: bool | None = None
    low_risk_of_return: bool | None = None
    still_in_accommodation: bool | None = Field(
        None,
        description='the three-month follow-up (Tool 4, "Client still in accommodation and '
        'engaged after 3 months"): is the client still in accommodation in the destination '
        "area? From the 3 months post reconnection point; emits ReconnectionFollowedUp",
    )
    engaged: bool | None = Field(
        None, description="the three-month follow-up: is the client engaged with local support?"
    )
    returned_to_rough_sleeping: bool | None = Field(
        None,
        description="the three-month follow-up: has the client returned to rough sleeping? "
        "Yes is refused beside still_in_accommodation yes; not given: recorded as no",
    )
    in_temporary_accommodation: bool | None = None
    negative_decision_handover_done: bool | None = None


class AgenciesNotified(BaseModel):
    agencies: list[AgencyNotice] = Field(min_length=1, max_length=50)


class CloseNote(BaseModel):
    note: Note = None


class EarlyClosure(BaseModel):
    reason: ClosureReason = Field(description="no_progress, disengaged, declined_support, ...")
    note: Reason


class LearningPoints(BaseModel):
    points: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(
        min_length=1, max_length=50
    )
    recorded_by: str | None = Field(None, max_length=100)
    themes: list[LearningTheme] = Field(
        default_factory=list,
        max_length=len(LearningTheme),
        description="what the points are about, so the log can be counted without its words",
    )


class LearningEntryIn(LearningPoints):
    case_id: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
    highs: list[Annotated[str, Field(max_length=2000)]] = Field(default_factory=list, max_length=50)
    lows: list[Annotated[str, Field(max_length=2000)]] = Field(default_factory=list, max_length=50)
