"""Request bodies of the agreements API and the path parameter's validation."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import AwareDatetime, BaseModel, Field, ValidationInfo, field_validator

from shared.agreements import DataCategory, Purpose

AgreementId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$", description="the agreement id")
]
Organisation = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
        description="the other organisation, as its people's tokens name it",
    ),
]
Note = Annotated[str | None, Field(None, max_length=2000)]


class ProposeAgreement(BaseModel):
    counterparty: Organisation
    purpose: Purpose
    categories: list[DataCategory] = Field(
        min_length=1, max_length=len(DataCategory), description="the data it covers"
    )
    starts: AwareDatetime
    ends: AwareDatetime | None = Field(None, description="open-ended when absent")
    note: Note = None

    @field_validator("ends")
    @classmethod
    def _after_start(cls, ends: AwareDatetime | None, info: ValidationInfo) -> AwareDatetime | None:
        starts = info.data.get("starts")
        if ends is not None and starts is not None and ends <= starts:
            raise ValueError("must be after starts")
        return ends


class ChangeNote(BaseModel):
    """Why, for the other party's admin to read (optional)."""

    note: Note = None
