"""Request bodies of the privacy API and its path parameter."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Path
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from services.privacy.retention import Period
from shared.events.privacy_events import ErasureScope, RecordType

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
RequestId = Annotated[str, Path(pattern=_ID, description="the request id")]


def _valid_unicode(value: str) -> str:
    # A lone surrogate (JSON "\ud800") cannot be stored or printed: a 422, never a 500.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("is not valid Unicode text (a lone surrogate)") from exc
    return value


Text = Annotated[str, AfterValidator(_valid_unicode)]
PersonId = Annotated[
    str, Field(pattern=_ID, description="the organisation's pseudonymous person id")
]
CaseId = Annotated[str, Field(pattern=_ID)]


class RequestAccess(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: PersonId
    received_on: date | None = Field(
        None, description="when the person's request arrived (default today); not in the future"
    )
    requester_note: Text | None = Field(None, max_length=2000)


class RequestErasure(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: PersonId
    reason: Text = Field(
        min_length=3, max_length=2000, description="the lawful basis, e.g. Article 17(1)(b)"
    )
    scope: ErasureScope = ErasureScope.PERSON
    case_ids: list[CaseId] = Field(
        [], max_length=100, description="with scope=cases", validate_default=True
    )
    record_types: list[RecordType] = Field([], description="empty: every record type")

    @field_validator("case_ids")
    @classmethod
    def _cases_with_their_scope(cls, case_ids: list[str], info: ValidationInfo) -> list[str]:
        scope = info.data.get("scope")
        if scope is ErasureScope.CASES and not case_ids:
            raise ValueError("scope cases names at least one case")
        if scope is ErasureScope.PERSON and case_ids:
            raise ValueError("only with scope cases")
        return case_ids


class RetentionPeriods(BaseModel):
    """The organisation's periods; a record type left out keeps the default (6 years)."""

    model_config = ConfigDict(extra="forbid")

    periods: dict[RecordType, Period] = Field(
        description='per record type, {"days": n} or {"years": n}'
    )
