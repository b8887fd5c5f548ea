"""A subject's stored history and a poll's new facts: the history they give, folded onto the
stored one when that is sure to equal the whole fold, else None (fold it whole). Pure.

A stored history carries how many facts it was folded from (`facts`) and the last of them in
fold order (`last`: time and id). Events usually arrive in order, so a poll's facts all sort
after it: applying them onto the stored history is then exactly what the whole fold does, at
the cost of one read of the histories instead of all their facts. A fact that sorts before
`last`, or a redelivered fact whose history may already hold it, needs the whole fold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.outcomes.facts import Fact
from services.outcomes.histories import (
    CaseHistory,
    CaseworkerCapacity,
    extend_capacity,
    extend_case,
    fold_key,
    ordered,
)

FOLDED_FROM = "facts"  # how many facts the stored history was folded from
LAST = "last"  # the last of them in fold order


@dataclass(frozen=True)
class _Kind:
    empty: Callable[[str], Any]
    loaded: Callable[[dict[str, Any]], Any]
    extend: Callable[[Any, Iterable[Fact]], Any]


KINDS: dict[str, _Kind] = {
    "case": _Kind(CaseHistory, CaseHistory.from_document, extend_case),
    "capacity": _Kind(CaseworkerCapacity, CaseworkerCapacity.from_document, extend_capacity),
}


@dataclass(frozen=True)
class Folded:
    document: dict[str, Any]  # the rollup document, without its _id
    replaces: int | None  # the stored history's fact count it replaces; None: a new history


def whole(kind: str, subject: str, facts: Sequence[Fact]) -> dict[str, Any]:
    """The rollup document of every fact of the subject."""
    return _document(kind, KINDS[kind].extend(KINDS[kind].empty(subject), facts), facts)


def extend(
    kind: str,
    subject: str,
    stored: dict[str, Any] | None,
    facts: Sequence[Fact],
    new_ids: set[str],
) -> Folded | None:
    """`facts` are this poll's facts of the subject; `new_ids` those that were not stored
    before it. None when only the whole fold is sure to be right."""
    poll = ordered({fact.id: fact for fact in facts}.values())
    if not poll:
        return None
    rules = KINDS[kind]
    if stored is None:
        # No history yet: right only if nothing of the subject was stored before this poll
        # (a repeat may be a fact stored by a poll that stopped before folding).
        if any(fact.id not in new_ids for fact in poll):
            return None
        return Folded(_document(kind, rules.extend(rules.empty(subject), poll), poll), None)
    last = last_key(stored)
    if last is None or fold_key(poll[0]) <= last:
        return None
    count = int(stored.get(FOLDED_FROM) or 0)
    history = rules.extend(rules.loaded(stored), poll)
    return Folded(_document(kind, history, poll, count), count)


def last_key(stored: dict[str, Any]) -> tuple[datetime, str] | None:
    last = stored.get(LAST)
    if not isinstance(last, dict) or last.get("time") is None or last.get("id") is None:
        return None  # folded before histories recorded their last fact
    return (datetime.fromisoformat(str(last["time"])), str(last["id"]))


def _document(kind: str, history: Any, facts: Sequence[Fact], before: int = 0) -> dict[str, Any]:
    latest = max(facts, key=fold_key)
    return {
        **history.document(),
        FOLDED_FROM: before + len({fact.id for fact in facts}),
        LAST: {"time": latest.time.isoformat(), "id": latest.id},
    }
