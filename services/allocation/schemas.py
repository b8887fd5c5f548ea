"""HTTP request bodies: every field validated, so bad input is a 422 naming the field."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.allocation.specialisms import Specialism

Id = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Hours = Annotated[float, Field(gt=0, le=60, description="hours per week, in quarter hours")]
Caseload = Annotated[int, Field(ge=1, le=500)]


def _quarter_hours(value: float | None) -> float | None:
    # Quarter hours keep the free-hours arithmetic exact in binary floating point.
    if value is not None and (value * 4) != int(value * 4):
        raise ValueError("must be a whole number of quarter hours")
    return value


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TeamLeaderIn(Body):
    id: Id | None = Field(None, description="the team leader's id; generated when absent")
    name: Name
    email: Email


class TeamIn(Body):
    id: Id | None = Field(None, description="generated when absent")
    name: Name
    team_leader: TeamLeaderIn


class TeamPatch(Body):
    name: Name | None = None
    team_leader: TeamLeaderIn | None = None


class CaseworkerIn(Body):
    id: Id | None = Field(None, description="generated when absent")
    team_id: Id
    name: Name
    email: Email
    specialisms: list[Specialism] = Field(min_length=1, max_length=len(Specialism))
    contracted_hours: Hours
    max_caseload: Caseload

    _hours = field_validator("contracted_hours")(_quarter_hours)


class CaseworkerPatch(Body):
    team_id: Id | None = None
    name: Name | None = None
    email: Email | None = None
    specialisms: list[Specialism] | None = Field(None, min_length=1, max_length=len(Specialism))
    contracted_hours: Hours | None = None
    max_caseload: Caseload | None = None
    active: bool | None = None

    _hours = field_validator("contracted_hours")(_quarter_hours)


class AvailabilityIn(Body):
    leave_from: date | None = None
    leave_to: date | None = None
    cover_worker_id: Id | None = Field(None, description="who covers the worker's cases")

    @model_validator(mode="after")
    def _ordered(self) -> AvailabilityIn:
        if self.leave_to is not None and self.leave_from is None:
            raise ValueError("leave_from: required when leave_to is given")
        if self.leave_from and self.leave_to and self.leave_to < self.leave_from:
            raise ValueError("leave_to: must not be before leave_from")
        return self


class ReallocationIn(Body):
    reason: Literal["change_of_worker", "cover"]
    to_worker_id: Id | None = Field(None, description="chosen worker; best match when absent")
    cover_until: date | None = Field(None, description="required for cover")

    @model_validator(mode="after")
    def _cover_needs_end(self) -> ReallocationIn:
        if self.reason == "cover" and self.cover_until is None:
            raise ValueError("cover_until: required when the reason is cover")
        if self.reason != "cover" and self.cover_until is not None:
            raise ValueError("cover_until: only for cover")
        return self
