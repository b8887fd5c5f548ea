"""The ranked waiting list: waiting cases in priority order, with the open cases at review
weighed in the same ranking, and where each waiting case stands in the backfill plan (which
worker and team it waits for, and why). Pure: entries, workers and the time in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from services.allocation.backfill import Backfill, Decision, plan
from services.allocation.priority import (
    Priority,
    PriorityFacts,
    continued_priority,
    priority,
    rank_key,
)
from services.allocation.records import (
    CaseEntry,
    Caseworker,
    Review,
    case_to_place,
    priority_facts,
    worker_view,
)


@dataclass(frozen=True)
class Ranked:
    kind: str  # "waiting" (a case waiting for a worker) or "review" (an open case at review)
    case_id: str
    priority: Priority
    since: datetime  # waiting since, or when the review was recorded
    record: CaseEntry | Review
    rank: int = 0  # place in the whole ranking, reviews included
    position: int | None = None  # place in the queue for a worker (waiting cases only)


def rank_waiting(entries: Iterable[CaseEntry], now: datetime) -> list[tuple[CaseEntry, Priority]]:
    """Waiting cases, best first: the order the allocator offers them to workers."""
    scored = [(entry, priority(priority_facts(entry), now)) for entry in entries]
    return sorted(scored, key=lambda ep: rank_key(ep[1].score, _since(ep[0], now), ep[0].case_id))


def backfill_plan(
    entries: Iterable[CaseEntry], workers: Iterable[Caseworker], now: datetime
) -> Backfill:
    """The plan a pass would follow now: each waiting case placed, reserving a worker as the
    head of its pool, held behind a head, or with no worker that could take it."""
    ranked = [case_to_place(entry) for entry, _ in rank_waiting(entries, now)]
    return plan(ranked, [worker_view(w) for w in workers], now.date())


def team_of(decision: Decision | None) -> str | None:
    """The one team a waiting case is counted for: the team of the worker it is placed with,
    reserved or held for; None when no worker could take it. Counted once, so the teams'
    waiting counts add up to the list's (with those of no team)."""
    return None if decision is None else decision.team_id


def waiting_by_team(
    entries: Iterable[CaseEntry], workers: Iterable[Caseworker], now: datetime
) -> dict[str, str | None]:
    """Case id -> the team it is counted for (team_of)."""
    decisions = backfill_plan(entries, workers, now).decisions
    return {case_id: team_of(decision) for case_id, decision in decisions.items()}


def combined_ranking(
    entries: Iterable[CaseEntry],
    reviews: Iterable[Review],
    cases: Mapping[str, CaseEntry],
    now: datetime,
) -> list[Ranked]:
    """One ranking for the team leader: waiting cases and cases at review side by side."""
    items: list[Ranked] = []
    for entry, score in rank_waiting(entries, now):
        items.append(Ranked("waiting", entry.case_id, score, _since(entry, now), entry))
    for review in reviews:
        case = cases.get(review.case_id)
        facts = priority_facts(case) if case else PriorityFacts()
        score = continued_priority(facts, now, review.review_point)
        since = review.recorded_at or now
        items.append(Ranked("review", review.case_id, score, since, review))
    items.sort(key=lambda r: rank_key(r.priority.score, r.since, r.case_id))
    ranked: list[Ranked] = []
    position = 0
    for rank, item in enumerate(items, start=1):
        if item.kind == "waiting":
            position += 1
        ranked.append(
            replace(item, rank=rank, position=position if item.kind == "waiting" else None)
        )
    return ranked


def _since(entry: CaseEntry, now: datetime) -> datetime:
    return entry.waiting_since or now
