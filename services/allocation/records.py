"""Stored documents -> the pure rules' inputs. Dates are stored as ISO strings (BSON has no
date-only type); datetimes as BSON dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from services.allocation.matching import CaseToPlace, WorkerView
from services.allocation.priority import PriorityFacts, RiskSignal
from services.allocation.specialisms import Specialism
from shared.codes import LegalStage, RiskLevel, Route, Stage, SupportNeed
from shared.mongo import Document


def iso_date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def parse_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def worker_view(doc: Document) -> WorkerView:
    return WorkerView(
        worker_id=doc["_id"],
        team_id=doc["team_id"],
        specialisms=frozenset(Specialism(s) for s in doc.get("specialisms", [])),
        free_hours=float(doc.get("free_hours", 0.0)),
        free_slots=int(doc.get("free_slots", 0)),
        open_cases=int(doc.get("open_cases", 0)),
        active=bool(doc.get("active", True)),
        leave_from=parse_date(doc.get("leave_from")),
        leave_to=parse_date(doc.get("leave_to")),
    )


def risk_signals(doc: Document) -> tuple[RiskSignal, ...]:
    return tuple(
        RiskSignal(
            level=RiskLevel(s["level"]),
            reasons=tuple(s.get("reasons", [])),
            legal_stage=LegalStage(s.get("legal_stage", LegalStage.NONE)),
        )
        for s in doc.get("risk_signals", [])
    )


def priority_facts(doc: Document) -> PriorityFacts:
    risk = doc.get("risk_level")
    since = doc.get("waiting_since")
    return PriorityFacts(
        support_needs=tuple(SupportNeed(n) for n in doc.get("support_needs", [])),
        date_facing_homelessness=parse_date(doc.get("date_facing_homelessness")),
        legal_stage=LegalStage(doc.get("legal_stage", LegalStage.NONE)),
        risk_level=RiskLevel(risk) if risk else None,
        risk_signals=risk_signals(doc),
        repeat_cycle=bool(doc.get("repeat_cycle", False)),
        waiting_since=aware(since) if since else None,
    )


def effective_risk(doc: Document) -> RiskLevel | None:
    """The highest risk known: at assessment or from a later tenancy alert."""
    levels = [RiskLevel(doc["risk_level"])] if doc.get("risk_level") else []
    levels += [s.level for s in risk_signals(doc)]
    return max(levels, key=lambda r: r.rank) if levels else None


def case_to_place(doc: Document) -> CaseToPlace:
    return CaseToPlace(
        case_id=doc["_id"],
        route=Route(doc.get("route", Route.SUPPORT)),
        support_needs=tuple(SupportNeed(n) for n in doc.get("support_needs", [])),
        stage=Stage(doc.get("stage", Stage.STAGE_1)),
        risk_level=effective_risk(doc),
    )


def placement_fields(doc: Document) -> Document:
    """What the allocator's query matches on, stored on a waiting entry and computed again
    whenever its inputs change (route, needs, stage, a raised risk): the specialisms that may
    lead it and the weekly hours it needs."""
    case = case_to_place(doc)
    return {"wanted": sorted(s.value for s in case.wanted), "hours": case.hours}
