"""The audit service's answers to subject-access and erasure requests (issue 16).

Subject access: the entries of the organisation's chain about the person's records (their
person id and the cases the trail knows are theirs): who saw or changed what, when, why (if
they said) and how it ended. Erasure changes nothing: the trail is an append-only hash chain
(`chain.py`) and is itself the proof of who touched the person's data; its entries hold ids,
codes and the staff who acted, never the person's own details. So the answer is zero counts.
The case -> person links stay too: they hold pseudonymous ids only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.audit.store import AuditStore
from shared.events.privacy_events import ErasureRequested, HeldRecord, SubjectAccessRequested
from shared.privacy_answers import answer_privacy_requests
from shared.runtime import ServiceRuntime

SERVICE = "audit"
MAX_ENTRIES = 10_000  # a person's trail in one answer (newest first)
# What an entry shows in the bundle: who, what, which record, when, why and the outcome; the
# chain's own fields and the caller's network address are not about the person.
SHOWN = (
    "at", "service", "action", "method", "path", "outcome", "status", "reason",
    "actor_subject", "actor_name", "actor_roles", "client_id", "record_kind", "record_id",
    "purpose", "request_id",
)  # fmt: skip


def entry_record(entry: Mapping[str, Any], about: set[str]) -> HeldRecord:
    """One audit entry as the bundle shows it (pure)."""
    data = {name: entry[name] for name in SHOWN if entry.get(name) not in (None, [], "")}
    listed = [i for i in entry.get("listed_ids") or [] if i in about]
    if listed:
        data["listed_records"] = listed  # a list answer that showed the person's records
    return HeldRecord(
        kind="audit entry",
        record_id=str(entry["_id"]),
        held_in="audit/entries",
        held_since=entry.get("at"),
        last_changed=entry.get("at"),
        data=data,
    )


class AuditPrivacy:
    def __init__(self, store: AuditStore) -> None:
        self.store = store

    async def access(self, request: SubjectAccessRequested) -> list[HeldRecord]:
        cases = await self.store.cases_of(request.person_id, request.organisation)
        about = {request.person_id, *cases}
        entries = await self.store.find(
            request.organisation, limit=MAX_ENTRIES, record_ids=sorted(about)
        )
        return [entry_record(e, about) for e in entries]

    async def erase(self, request: ErasureRequested) -> tuple[dict[str, int], dict[str, int]]:
        return {}, {}  # the trail is kept whole: see the module's docstring


def install(runtime: ServiceRuntime, store: AuditStore) -> AuditPrivacy:
    privacy = AuditPrivacy(store)
    answer_privacy_requests(runtime, SERVICE, privacy.access, privacy.erase)
    return privacy
