"""The ranked waiting list: waiting cases in priority order, with the open cases at review
weighed in the same ranking. Pure: documents and the time in, the ranking out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from services.allocation.priority import Priority, continued_priority, priority, rank_key
from services.allocation.records import aware, priority_facts
from shared.mongo import Document


@dataclass(frozen=True)
class Ranked:
    kind: str  # "waiting" (a case waiting for a worker) or "review" (an open case at review)
    case_id: str
    priority: Priority
    since: datetime  # waiting since, or when the review was recorded
    document: Document
    rank: int = 0  # place in the whole ranking, reviews included
    position: int | None = None  # place in the queue for a worker (waiting cases only)


def rank_waiting(entries: Iterable[Document], now: datetime) -> list[tuple[Document, Priority]]:
    """Waiting cases, best first: the order the allocator offers them to workers."""
    scored = [(doc, priority(priority_facts(doc), now)) for doc in entries]
    return sorted(
        scored, key=lambda dp: rank_key(dp[1].score, _since(dp[0], now), str(dp[0]["_id"]))
    )


def combined_ranking(
    entries: Iterable[Document],
    reviews: Iterable[Document],
    cases: Mapping[str, Document],
    now: datetime,
) -> list[Ranked]:
    """One ranking for the team leader: waiting cases and cases at review side by side."""
    items: list[Ranked] = []
    for doc, score in rank_waiting(entries, now):
        items.append(Ranked("waiting", str(doc["_id"]), score, _since(doc, now), doc))
    for review in reviews:
        case = cases.get(str(review["_id"]), {})
        score = continued_priority(priority_facts(case), now, str(review.get("review_point")))
        since = aware(review.get("recorded_at") or now)
        items.append(Ranked("review", str(review["_id"]), score, since, review))
    items.sort(key=lambda r: rank_key(r.priority.score, r.since, r.case_id))
    ranked: list[Ranked] = []
    position = 0
    for rank, item in enumerate(items, start=1):
        if item.kind == "waiting":
            position += 1
        place = position if item.kind == "waiting" else None
        ranked.append(
            Ranked(item.kind, item.case_id, item.priority, item.since, item.document, rank, place)
        )
    return ranked


def _since(doc: Document, now: datetime) -> datetime:
    since = doc.get("waiting_since")
    return aware(since) if since else now
