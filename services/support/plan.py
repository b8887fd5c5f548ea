"""Needs assessment and support plan rules (pure).

A plan has goals per need domain; each goal has actions with an owner (client, worker or a
partner agency), a due date and progress. Derby draws up a three-month plan after the needs
assessment; stage 1 reviews it at 12 weeks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

PLAN_PERIOD = timedelta(weeks=12)  # Derby's three-month plan


class NeedDomain(StrEnum):
    INCOME_AND_BENEFITS = "income_and_benefits"
    BUDGETING_AND_ARREARS = "budgeting_and_arrears"
    MAINTAINING_THE_TENANCY = "maintaining_the_tenancy"
    SUBSTANCE_MISUSE = "substance_misuse"
    MENTAL_HEALTH = "mental_health"
    PHYSICAL_HEALTH = "physical_health"
    EMPLOYMENT_AND_TRAINING = "employment_and_training"
    COMMUNITY_INVOLVEMENT = "community_involvement"
    SAFETY = "safety"  # domestic abuse, harassment, risk to self or others
    OFFENDING = "offending"
    FAMILY_AND_RELATIONSHIPS = "family_and_relationships"
    DAILY_LIVING_SKILLS = "daily_living_skills"
    OTHER = "other"


class NeedLevel(StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ActionOwner(StrEnum):
    CLIENT = "client"
    WORKER = "worker"
    PARTNER_AGENCY = "partner_agency"


class Progress(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"


class PlanError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class PlanAction:
    description: str
    owner: ActionOwner
    due_on: date
    partner_agency: str | None = None
    progress: Progress = Progress.NOT_STARTED


@dataclass(frozen=True)
class Goal:
    domain: NeedDomain
    goal: str
    actions: tuple[PlanAction, ...]


def validate_plan(goals: Sequence[Goal], assessed: set[NeedDomain], starts_on: date) -> None:
    """Every goal answers an assessed need; partner actions name the agency."""
    if not goals:
        raise PlanError("goals", "a plan needs at least one goal")
    for g, goal in enumerate(goals):
        if assessed and goal.domain not in assessed:
            raise PlanError(f"goals.{g}.domain", f"{goal.domain} was not found in the assessment")
        for a, action in enumerate(goal.actions):
            where = f"goals.{g}.actions.{a}"
            if action.owner is ActionOwner.PARTNER_AGENCY and not action.partner_agency:
                raise PlanError(f"{where}.partner_agency", "required when a partner owns it")
            if action.due_on < starts_on - timedelta(days=365):
                raise PlanError(f"{where}.due_on", "more than a year in the past")


def assessed_domains(levels: dict[NeedDomain, NeedLevel]) -> set[NeedDomain]:
    return {domain for domain, level in levels.items() if level is not NeedLevel.NONE}


def plan_review_on(agreed_on: date) -> date:
    return agreed_on + PLAN_PERIOD


def progress_share(progresses: Sequence[Progress]) -> float:
    """Share of live actions done (dropped ones do not count)."""
    live = [p for p in progresses if p is not Progress.DROPPED]
    if not live:
        return 0.0
    return round(sum(p is Progress.DONE for p in live) / len(live), 2)
