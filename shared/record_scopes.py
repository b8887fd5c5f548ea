"""How a service tells the access check which team a record belongs to (`shared/auth.py`):
one read by `_id` and organisation, for callers whose reach is their teams only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.auth import RecordScope, RecordScopeLookup
from shared.mongo import Collection


def _get(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def scope_lookup(
    collection: Collection,
    team: str = "team_id",
    workers: Sequence[str] = ("lead_worker_id",),
    made_by: str | None = None,
) -> RecordScopeLookup:
    """A lookup of records kept in `collection`, naming the fields (dotted paths allowed) that
    hold the record's team, the workers leading it and (where creators keep sight of what
    they made) who made it."""
    # Whole top-level fields: dotted projections are not something every backend does well.
    fields = (team, *workers, *([made_by] if made_by else []))
    projection = {field.split(".")[0]: 1 for field in fields}

    async def lookup(organisation: str, record_id: str) -> RecordScope | None:
        document = await collection.find_one(
            {"_id": record_id, "organisation": organisation}, projection
        )
        if document is None:
            return None
        worker_ids = tuple(w for w in (_get(document, f) for f in workers) if isinstance(w, str))
        team_id = _get(document, team)
        maker = _get(document, made_by) if made_by else None
        return RecordScope(
            team_id if isinstance(team_id, str) else None,
            worker_ids,
            maker if isinstance(maker, str) else None,
        )

    return lookup
