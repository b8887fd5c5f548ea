"""What a pure action decides: the new case, and the effects the service must carry out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.reconnection.model import PhaseHistoryEntry, ReconnectionCase
from services.reconnection.phases import Phase
from shared.events.base import EventData


class RuleViolation(Exception):
    """The action is not allowed in the case's current state (HTTP 409); names the field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


class NotFound(Exception):
    """No such case, item or entry for this caller (HTTP 404)."""


@dataclass(frozen=True)
class TimerRequest:
    timer_id: str
    due_at: datetime
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Fact:
    """An event the decision emits besides phase changes and closure; `key` names it within
    the case, so its id is derived from the case and the key (a retry emits nothing new)."""

    data: EventData
    key: str


@dataclass
class Decision:
    case: ReconnectionCase
    phase_changes: list[tuple[Phase | None, Phase]] = field(default_factory=list)
    closed: bool = False  # emit CaseClosed
    timers: list[TimerRequest] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)


def move_to(decision: Decision, phase: Phase, now: datetime) -> None:
    """Record a phase change on the decision's case (history and the event to emit)."""
    case = decision.case
    previous = case.phase if case.history else None
    if previous == phase:
        return
    case.history.append(PhaseHistoryEntry(previous=previous, phase=phase, at=now))
    case.phase = phase
    case.last_progress_at = now
    decision.phase_changes.append((previous, phase))
