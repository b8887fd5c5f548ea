"""Tool 1, the eight phases of the Safe Connections model, as a pure state machine.

A phase is completed (and the next one entered) only when its required checklist items are done
or marked not applicable, and its own guard holds. Guards are the few rules the seed states as
facts rather than tips: a lead caseworker before engagement, eligibility confirmed at engagement,
a destination and a reconnection date before the move, the day itself before reconnection, and
intensive support lasting at least 72 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum


class Phase(StrEnum):
    IDENTIFY = "identify"
    ALLOCATE = "allocate"
    ENGAGE = "engage"
    RECONNECTION_PLANNING = "reconnection_planning"
    RECONNECTION = "reconnection"
    INTENSIVE_SUPPORT = "intensive_support"
    STEP_DOWN = "step_down"
    CASE_CLOSURE_AND_REVIEW = "case_closure_and_review"


ORDER: tuple[Phase, ...] = tuple(Phase)
INTENSIVE_SUPPORT_MIN = timedelta(hours=72)
INTENSIVE_SUPPORT_MAX_MONTHS = 3


class PhaseBlocked(Exception):
    """The phase cannot be completed yet; `reasons` say what is missing."""

    def __init__(self, phase: Phase, reasons: list[str]) -> None:
        super().__init__(f"{phase} cannot be completed: {'; '.join(reasons)}")
        self.phase = phase
        self.reasons = reasons


@dataclass(frozen=True)
class PhaseFacts:
    now: datetime
    lead_worker_assigned: bool = False
    eligible: bool = False
    destination_area: str | None = None
    reconnection_date: date | None = None
    part_vii_submitted: bool = False
    reconnected_at: datetime | None = None
    closed: bool = False


def index(phase: Phase) -> int:
    return ORDER.index(phase)


def next_phase(phase: Phase) -> Phase | None:
    position = index(phase)
    return ORDER[position + 1] if position + 1 < len(ORDER) else None


def guard_reasons(phase: Phase, facts: PhaseFacts) -> list[str]:
    """What, besides the checklist, stops `phase` from being completed."""
    reasons: list[str] = []
    if facts.closed:
        return ["the case is closed"]
    if phase is Phase.ALLOCATE and not facts.lead_worker_assigned:
        reasons.append("no lead caseworker allocated")
    elif phase is Phase.ENGAGE and not facts.eligible:
        reasons.append("eligibility not confirmed at engagement")
    elif phase is Phase.RECONNECTION_PLANNING:
        if not facts.destination_area:
            reasons.append("no destination area chosen")
        if facts.reconnection_date is None:
            reasons.append("no reconnection date set")
    elif phase is Phase.RECONNECTION:
        if facts.reconnection_date is None or facts.now.date() < facts.reconnection_date:
            reasons.append("the reconnection date has not come")
        if not facts.part_vii_submitted:
            reasons.append("no Part VII application submitted")
    elif phase is Phase.INTENSIVE_SUPPORT:
        if facts.reconnected_at is None or facts.now < facts.reconnected_at + INTENSIVE_SUPPORT_MIN:
            reasons.append("intensive support lasts at least 72 hours after reconnection")
    elif phase is Phase.CASE_CLOSURE_AND_REVIEW:
        reasons.append("the last phase ends through the closure checklist")
    return reasons


def complete(phase: Phase, open_required_items: list[str], facts: PhaseFacts) -> Phase:
    """The phase that follows `phase`, or PhaseBlocked naming the open items and guards."""
    reasons = [f"checklist item open: {item}" for item in open_required_items]
    reasons += guard_reasons(phase, facts)
    following = next_phase(phase)
    if reasons or following is None:
        raise PhaseBlocked(phase, reasons or ["no phase follows"])
    return following
