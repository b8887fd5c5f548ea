"""The local-connection test of Tool 3: which areas could the client be reconnected to, and why.

Residence counts when the client lived in an area for 6 of the last 12 months or 3 of the last
5 years. Periods are whole days, both ends included; an open period runs to the assessment date.
"6 of 12 months" is read as half of the days of the window (rounded up), "3 of 5 years" as three
fifths, so leap years and month lengths never decide a case by accident. Overlapping periods in
one area are merged (a day counts once); overlaps between areas are reported, not resolved.
Employment counts while it is current; close family (parents, siblings, children) counts unless
they have lived there under five years; special circumstances count as the caseworker records
them. The referring area is never a destination, whatever the evidence.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction

from pydantic import BaseModel, Field, model_validator

from services.reconnection.dates import BoundedDate, days_inclusive
from shared.dates import add_months

AreaName = str
CLOSE_FAMILY = frozenset(
    {
        "mother",
        "father",
        "parent",
        "stepmother",
        "stepfather",
        "brother",
        "sister",
        "sibling",
        "half-brother",
        "half-sister",
        "son",
        "daughter",
        "child",
    }
)
FAMILY_MIN_YEARS = 5


class GroundKind(StrEnum):
    RESIDENCE_6_OF_12_MONTHS = "residence_6_of_12_months"
    RESIDENCE_3_OF_5_YEARS = "residence_3_of_5_years"
    EMPLOYMENT = "employment"
    FAMILY = "family"
    SPECIAL_CIRCUMSTANCES = "special_circumstances"


# (window in months, share of the window's days required, the ground it establishes)
RESIDENCE_TESTS = (
    (12, Fraction(6, 12), GroundKind.RESIDENCE_6_OF_12_MONTHS),
    (60, Fraction(36, 60), GroundKind.RESIDENCE_3_OF_5_YEARS),
)


def area_key(name: str) -> str:
    """Areas compare case- and space-insensitively: 'Leeds ' is 'leeds'."""
    return " ".join(name.split()).lower()


class ResidencePeriod(BaseModel):
    area: AreaName = Field(min_length=1, max_length=100)
    start: BoundedDate
    end: BoundedDate | None = Field(
        None, description="last day there; empty while still living there"
    )

    @model_validator(mode="after")
    def _ordered(self) -> ResidencePeriod:
        if self.end is not None and self.end < self.start:
            raise ValueError("end: is before start")
        return self


class Employment(BaseModel):
    area: AreaName = Field(min_length=1, max_length=100)
    employer: str | None = Field(None, max_length=200)
    start: BoundedDate | None = None
    end: BoundedDate | None = Field(None, description="empty while still employed")


class FamilyMember(BaseModel):
    area: AreaName = Field(min_length=1, max_length=100)
    relationship: str = Field(min_length=1, max_length=50, description="mother, brother, ...")
    years_in_area: float | None = Field(None, ge=0, le=150)


class SpecialCircumstance(BaseModel):
    area: AreaName = Field(min_length=1, max_length=100)
    description: str = Field(min_length=1, max_length=1000)


class AreaCountry(BaseModel):
    """The country of a connection area, where it may not be in the UK (Tool 3: "within the
    UK"; service_area.py)."""

    area: AreaName = Field(min_length=1, max_length=100)
    country: str = Field(min_length=1, max_length=100)


class LocalConnectionEvidence(BaseModel):
    residence: list[ResidencePeriod] = Field(default_factory=list, max_length=100)
    employment: list[Employment] = Field(default_factory=list, max_length=50)
    family: list[FamilyMember] = Field(default_factory=list, max_length=50)
    special_circumstances: list[SpecialCircumstance] = Field(default_factory=list, max_length=50)
    countries: list[AreaCountry] = Field(
        default_factory=list, max_length=50, description="an area's country, if not the UK's"
    )


class Ground(BaseModel):
    kind: GroundKind
    detail: str
    days: int | None = None


class CandidateArea(BaseModel):
    area: AreaName
    grounds: list[Ground]


class ExcludedArea(BaseModel):
    area: AreaName
    reason: str
    grounds: list[Ground]


class LocalConnectionResult(BaseModel):
    assessed_on: date
    candidates: list[CandidateArea]
    excluded: list[ExcludedArea] = []
    notes: list[str] = []

    def candidate_keys(self) -> set[str]:
        return {area_key(c.area) for c in self.candidates}


def window(assessed_on: date, months: int) -> tuple[date, date]:
    """The last `months` months, both ends included: 12 months to 1 Jul 2026 is 2 Jul 2025 on."""
    return add_months(assessed_on, -months) + timedelta(days=1), assessed_on


def merged(spans: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """Union of inclusive day spans; touching spans (31 Jan, 1 Feb) join."""
    result: list[tuple[date, date]] = []
    for start, end in sorted(spans):
        if result and start <= result[-1][1] + timedelta(days=1):
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


def days_within(spans: list[tuple[date, date]], first: date, last: date) -> int:
    total = 0
    for start, end in merged(spans):
        clipped_start, clipped_end = max(start, first), min(end, last)
        if clipped_start <= clipped_end:
            total += days_inclusive(clipped_start, clipped_end)
    return total


def required_days(first: date, last: date, share: Fraction) -> int:
    return math.ceil(days_inclusive(first, last) * share)


def _residence_spans(
    evidence: LocalConnectionEvidence, assessed_on: date, notes: list[str]
) -> dict[str, list[tuple[date, date]]]:
    spans: dict[str, list[tuple[date, date]]] = defaultdict(list)
    for period in evidence.residence:
        if period.start > assessed_on:
            notes.append(f"residence in {period.area} starts after the assessment date; ignored")
            continue
        end = min(period.end or assessed_on, assessed_on)
        spans[area_key(period.area)].append((period.start, end))
    return spans


def _overlap_notes(spans: dict[str, list[tuple[date, date]]], names: dict[str, str]) -> list[str]:
    notes = []
    areas = sorted(spans)
    for i, a in enumerate(areas):
        for b in areas[i + 1 :]:
            for a_start, a_end in merged(spans[a]):
                for b_start, b_end in merged(spans[b]):
                    start, end = max(a_start, b_start), min(a_end, b_end)
                    if start <= end:
                        notes.append(
                            f"residence in {names[a]} and {names[b]} overlaps "
                            f"from {start} to {end}; check the address history"
                        )
    return notes


def _residence_grounds(spans: list[tuple[date, date]], assessed_on: date) -> list[Ground]:
    grounds = []
    for months, share, kind in RESIDENCE_TESTS:
        first, last = window(assessed_on, months)
        days = days_within(spans, first, last)
        needed = required_days(first, last, share)
        if days >= needed:
            grounds.append(
                Ground(
                    kind=kind,
                    days=days,
                    detail=f"{days} of the {days_inclusive(first, last)} days from {first} "
                    f"to {last} (needs {needed})",
                )
            )
    return grounds


def assess_local_connection(
    evidence: LocalConnectionEvidence, assessed_on: date, referring_areas: list[str]
) -> LocalConnectionResult:
    notes: list[str] = []
    names: dict[str, str] = {}  # first spelling seen of each area, for display
    grounds: dict[str, list[Ground]] = defaultdict(list)

    def name_of(area: str) -> str:
        return names.setdefault(area_key(area), " ".join(area.split()))

    for period in evidence.residence:
        name_of(period.area)
    spans = _residence_spans(evidence, assessed_on, notes)
    notes.extend(_overlap_notes(spans, names))
    for key, area_spans in spans.items():
        grounds[key].extend(_residence_grounds(area_spans, assessed_on))

    for job in evidence.employment:
        name = name_of(job.area)
        current = (job.start is None or job.start <= assessed_on) and (
            job.end is None or job.end >= assessed_on
        )
        if current:
            employer = f" at {job.employer}" if job.employer else ""
            grounds[area_key(name)].append(
                Ground(kind=GroundKind.EMPLOYMENT, detail=f"currently employed{employer}")
            )
        else:
            notes.append(f"employment in {name} is not current; it does not establish connection")

    for relative in evidence.family:
        name = name_of(relative.area)
        relationship = relative.relationship.strip().lower()
        if relationship not in CLOSE_FAMILY:
            notes.append(
                f"{relationship} in {name} is not close family; "
                "record it as a special circumstance if it matters"
            )
            continue
        if relative.years_in_area is not None and relative.years_in_area < FAMILY_MIN_YEARS:
            notes.append(
                f"{relationship} has lived in {name} under {FAMILY_MIN_YEARS} years; "
                "it does not establish connection"
            )
            continue
        unconfirmed = (
            ""
            if relative.years_in_area is not None
            else " (how long they have lived there is unconfirmed)"
        )
        grounds[area_key(name)].append(
            Ground(kind=GroundKind.FAMILY, detail=f"{relationship} lives there{unconfirmed}")
        )

    for circumstance in evidence.special_circumstances:
        name = name_of(circumstance.area)
        grounds[area_key(name)].append(
            Ground(kind=GroundKind.SPECIAL_CIRCUMSTANCES, detail=circumstance.description)
        )

    excluded_keys = {area_key(a) for a in referring_areas if a.strip()}
    candidates, excluded = [], []
    for key, area_grounds in grounds.items():
        if not area_grounds:
            continue
        if key in excluded_keys:
            excluded.append(
                ExcludedArea(
                    area=names[key],
                    reason="the referring area is never a reconnection destination",
                    grounds=area_grounds,
                )
            )
        else:
            candidates.append(CandidateArea(area=names[key], grounds=area_grounds))
    candidates.sort(key=_strength)
    return LocalConnectionResult(
        assessed_on=assessed_on, candidates=candidates, excluded=excluded, notes=notes
    )


def _strength(candidate: CandidateArea) -> tuple[int, int, str]:
    """Sort key: most days of residence first, then the most grounds, then by name."""
    residence_days = max(
        (g.days or 0 for g in candidate.grounds if g.kind.startswith("residence")), default=0
    )
    return (-residence_days, -len(candidate.grounds), candidate.area.lower())
