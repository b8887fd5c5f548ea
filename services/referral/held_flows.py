"""Flows across organisations held for want of a live data-sharing agreement (issue 15).

One document per held flow in the referral service's own `held_flows` collection: what it is
(`kind`), the two organisations, the purpose, the reason `shared.agreements.check` gave, the
tenancy and the time. A held prevention referral keeps its ReferralSubmitted envelope and is
raised when the agreement becomes live (`release`: guarded on `status: held`, so releasing it
twice publishes it once). A held tenancy claim is released by the next alert's check itself;
the record says what is held meanwhile. Admins of either organisation read them through
GET /v1/held-flows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, DESCENDING

from shared.agreements import Purpose
from shared.consent import Consent
from shared.consent_repository import from_stored
from shared.events.envelope import Envelope
from shared.ids import stable_id
from shared.mongo import Collection, Database, Document
from shared.repository import RawDocuments
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork

HELD_FLOWS = "held_flows"
CONSENTS = "consents"  # `consent_records.CONSENTS`: each case's consent, by case id
LIST_LIMIT = 500


class FlowKind(StrEnum):
    PREVENTION_REFERRAL = "prevention-referral"  # a landlord's alert into another's caseload
    TENANCY_CLAIM = "tenancy-claim"  # a referral naming another landlord's tenancy


class HoldStatus(StrEnum):
    HELD = "held"
    RELEASED = "released"  # the agreement became live: the flow happened
    SUPERSEDED = "superseded"  # never released: a later hold or the episode replaced it


@dataclass(frozen=True)
class HeldFlow:
    kind: FlowKind
    purpose: Purpose
    from_organisation: str  # whose data would flow (the landlord)
    to_organisation: str  # where it would go (the council)
    reason: str
    subject: str  # the prevention referral id, or the claiming case id
    tenancy_id: str | None = None
    episode: int | None = None
    level_rank: int | None = None
    event: Envelope | None = None  # what release publishes (a held prevention referral)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def flow_id(self) -> str:
        return f"held-{stable_id(self.kind.value, self.subject, self.tenancy_id or '')}"


class HeldFlows:
    """The one store of held flows, shared by the intake and arrears parts."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.collection: Collection = runtime.collection(HELD_FLOWS, outbox=True)
        self.documents = RawDocuments(self.collection)
        runtime.on_startup(self.ensure_indexes)

    async def ensure_indexes(self) -> None:
        for party in ("from_organisation", "to_organisation"):
            await self.collection.create_index([(party, ASCENDING), ("held_at", DESCENDING)])
        await self.collection.create_index([("subject", ASCENDING)])  # a case's flows

    def hold(self, uow: UnitOfWork, flow: HeldFlow, now: datetime) -> None:
        """Record (or refresh the reason of) a held flow; a released one stays released."""
        reason = {"reason": flow.reason, "checked_at": now}
        document = {
            "kind": flow.kind.value,
            "purpose": flow.purpose.value,
            "from_organisation": flow.from_organisation,
            "to_organisation": flow.to_organisation,
            "subject": flow.subject,
            "tenancy_id": flow.tenancy_id,
            "episode": flow.episode,
            "level_rank": flow.level_rank,
            "event": flow.event.model_dump(mode="json") if flow.event else None,
            "status": HoldStatus.HELD.value,
            "held_at": now,
            **flow.extra,
            **reason,
        }
        uow.upsert(
            self.documents,
            flow.flow_id,
            {"$set": reason},
            document,
            guard={"status": HoldStatus.HELD.value},
            idempotent=True,
        )

    def hold_again(self, uow: UnitOfWork, flow: HeldFlow, now: datetime) -> None:
        """A released tenancy claim whose agreement has ended: held again, with the reason."""
        uow.upsert(
            self.documents,
            flow.flow_id,
            {"$set": {"status": HoldStatus.HELD.value, "reason": flow.reason, "checked_at": now}},
            {
                "kind": flow.kind.value, "purpose": flow.purpose.value,
                "from_organisation": flow.from_organisation,
                "to_organisation": flow.to_organisation, "subject": flow.subject,
                "tenancy_id": flow.tenancy_id, "status": HoldStatus.HELD.value, "held_at": now,
                "reason": flow.reason, "checked_at": now, **flow.extra,
            },
            idempotent=True,
        )  # fmt: skip

    def release(
        self, uow: UnitOfWork, flow_id: str, now: datetime, events: list[Envelope] | None = None
    ) -> None:
        """The flow happens now: its events (if any) go out with the change, once."""
        uow.change(
            self.documents,
            flow_id,
            {"$set": {"status": HoldStatus.RELEASED.value, "released_at": now}},
            events or [],
            guard={"status": HoldStatus.HELD.value},
            idempotent=True,
        )

    def supersede(self, uow: UnitOfWork, flow_id: str, now: datetime, why: str) -> None:
        uow.change(
            self.documents,
            flow_id,
            {"$set": {"status": HoldStatus.SUPERSEDED.value, "superseded_at": now, "why": why}},
            guard={"status": HoldStatus.HELD.value},
            idempotent=True,
        )

    async def held_between(
        self, kind: FlowKind, from_organisation: str, to_organisation: str
    ) -> list[Document]:
        """Every flow of this kind still held from one organisation to the other."""
        query = {
            "from_organisation": from_organisation,
            "to_organisation": to_organisation,
            "kind": kind.value,
            "status": HoldStatus.HELD.value,
        }
        return await self.collection.find(query).to_list(None)

    async def held_about(self, kind: FlowKind, subjects: Iterable[str]) -> list[Document]:
        """Every flow of this kind still held about these subjects (cases)."""
        ids = sorted(set(subjects))
        if not ids:
            return []
        query = {"subject": {"$in": ids}, "kind": kind.value, "status": HoldStatus.HELD.value}
        return await self.collection.find(query).to_list(None)

    async def visible_to(
        self, organisation: str, status: HoldStatus | None, limit: int = LIST_LIMIT
    ) -> list[Document]:
        """The flows `organisation` is party to, newest first (two equality reads: FerretDB
        pushes neither `$or` nor array membership down to SQL)."""
        found: dict[str, Document] = {}
        for party in ("from_organisation", "to_organisation"):
            query: dict[str, Any] = {party: organisation}
            if status is not None:
                query["status"] = status.value
            cursor = self.collection.find(query, {"event": 0, "_outbox": 0, "_inbox": 0})
            async for doc in cursor.sort("held_at", DESCENDING).limit(limit):
                found[doc["_id"]] = doc
        return sorted(found.values(), key=lambda d: d["held_at"], reverse=True)[:limit]


class HeldFlowRecords:
    """Held flows about some cases, read and de-identified for the privacy service (issue 16)."""

    def __init__(self, flows: HeldFlows) -> None:
        self.flows = flows

    async def about(self, subjects: list[str]) -> list[Document]:
        """The flows whose subject is one of these cases (a string `$in`: narrowed in SQL)."""
        if not subjects:
            return []
        return await self.flows.collection.find({"subject": {"$in": subjects}}).to_list(None)

    def deidentify(self, uow: UnitOfWork, flow_id: str, update: Document) -> None:
        guard = {"deidentified_at": None}
        uow.change(self.flows.documents, flow_id, update, guard=guard, idempotent=True)


class CaseConsents:
    """Each case's consent as the referral service recorded it (`consent_records.py` writes
    them), read in one query for many cases: the checks of the flows held here ask it beside
    the agreements (issue 16)."""

    def __init__(self, db: Database) -> None:
        self.collection: Collection = db[CONSENTS]

    async def of_cases(self, case_ids: Iterable[str]) -> dict[str, Consent]:
        """The consents recorded on these cases, by case id (a case without one is absent)."""
        ids = sorted(set(case_ids))
        if not ids:
            return {}
        found = self.collection.find({"_id": {"$in": ids}}, {"_outbox": 0, "_inbox": 0})
        return {str(doc["_id"]): from_stored(doc) async for doc in found}
