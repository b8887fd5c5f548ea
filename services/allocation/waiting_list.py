"""The ranked waiting list: waiting cases in priority order, with the open cases at review
weighed in the same ranking. Pure: entries and the time in, the ranking out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from services.allocation.priority import (
    Priority,
    PriorityFacts,
    continued_priority,
    priority,
    rank_key,
)
from services.allocation.records import CaseEntry, Review, priority_facts


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
