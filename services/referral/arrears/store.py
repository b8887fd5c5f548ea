"""The arrears part's own collections; the only module here that talks to MongoDB.

- `tenancy_risk`: one document per tenancy id — the risk episode (highest level signalled,
  recent alert ids), the projection of the tenancy's cases, and the outbox of its events.
  Keeping both in one document means a case opening and an alert deciding cannot pass each
  other: every write bumps `version`, and alert writes are guarded on the version they read.
- `arrears_risk_rules`: each organisation's thresholds.
- `arrears_batches`: CSV uploads, their progress and rejected rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from services.referral.arrears.decision import CaseEntry, CaseStatus, TenancyState, case_key
from services.referral.arrears.planning import TenancyPlan
from services.referral.arrears.risk_rules import DEFAULT_RULES, RiskRules
from shared.bulk import Upsert, bulk_upsert
from shared.codes import RiskLevel
from shared.events.envelope import Envelope
from shared.ids import new_id
from shared.logging import get_logger
from shared.mongo import Document
from shared.outbox import LEASE, OUTBOX, PENDING, outbox_update, pending_envelopes
from shared.runtime import ServiceRuntime

TENANCY_RISK = "tenancy_risk"
RISK_RULES = "arrears_risk_rules"
BATCHES = "arrears_batches"
MAX_REJECTED_KEPT = 1000  # rejected rows kept on a batch document; the count stays exact
# Bounds one request's size. (Stock FerretDB 1.24 hung on updates of 100+ statements; the
# devstack build fixes that, see devstack/resources/ferretdb-patch/README.md.)
BULK_CHUNK = 1000

log = get_logger(__name__)


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """{"a.b": 1} -> {"a": {"b": 1}}, for a document inserted whole."""
    nested: dict[str, Any] = {}
    for path, value in flat.items():
        target = nested
        *parents, leaf = path.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return nested


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + BULK_CHUNK] for i in range(0, len(items), BULK_CHUNK)]


@dataclass(frozen=True)
class CaseChange:
    tenancy_id: str
    case_id: str
    status: CaseStatus
    at: datetime | None


def state_from_document(tenancy_id: str, document: Document | None) -> TenancyState:
    if document is None:
        return TenancyState(tenancy_id=tenancy_id)
    cases = {
        key: CaseEntry(entry["case_id"], CaseStatus(entry["status"]), entry.get("at"))
        for key, entry in (document.get("cases") or {}).items()
    }
    level = document.get("signalled_level")
    return TenancyState(
        tenancy_id=tenancy_id,
        version=int(document.get("version", 0)),
        episode=int(document.get("episode", 0)),
        signalled_level=RiskLevel(level) if level else None,
        recent_alerts=tuple(document.get("recent_alerts") or ()),
        cases=cases,
    )


def _case_body(entry: CaseEntry) -> dict[str, Any]:
    return {"case_id": entry.case_id, "status": entry.status.value, "at": entry.at}


class ArrearsStore:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        self.tenancies = runtime.collection(TENANCY_RISK, outbox=True)
        runtime.use_outbox_batches()  # new tenancies are inserted in bulk
        self.rules = runtime.collection(RISK_RULES)
        self.batches = runtime.collection(BATCHES)
        runtime.on_startup(self.ensure_indexes)

    async def ensure_indexes(self) -> None:
        await self.tenancies.create_index([("landlord", 1)])
        await self.batches.create_index([("organisation", 1), ("created_at", -1)])

    # --- tenancy risk state ----------------------------------------------------------------

    async def load_states(
        self, tenancy_ids: Iterable[str]
    ) -> tuple[dict[str, TenancyState], dict[str, list[Envelope]]]:
        """States, and events a failed flush left queued: a guarded write will find exactly
        these plus its own in the outbox, so its flush can publish and clear them all."""
        ids = list(tenancy_ids)
        found = {
            doc["_id"]: doc
            async for doc in self.tenancies.find(
                {"_id": {"$in": ids}},
                {
                    "version": 1,
                    "episode": 1,
                    "signalled_level": 1,
                    "recent_alerts": 1,
                    "cases": 1,
                    OUTBOX: 1,
                },
            )
        }
        states = {tid: state_from_document(tid, found.get(tid)) for tid in ids}
        leftovers = {
            tid: [envelope for _, envelope in pending_envelopes(doc)]
            for tid, doc in found.items()
            if doc.get(OUTBOX)
        }
        return states, leftovers

    async def tenancy(self, landlord: str, tenancy_id: str) -> Document | None:
        return await self.tenancies.find_one(
            {"_id": tenancy_id, "landlord": landlord}, {OUTBOX: 0, "_inbox": 0}
        )

    async def apply_plans(
        self, plans: Sequence[TenancyPlan], now: datetime
    ) -> tuple[list[TenancyPlan], list[TenancyPlan]]:
        """Write every plan in one bulk of guarded updates. Returns (written, conflicted):
        a conflicted plan's tenancy changed since it was read and must be decided again."""
        to_write = [p for p in plans if p.needs_write]
        if not to_write:
            return [], []
        token = new_id()
        for plan in to_write:
            plan.write_token = token
        creates: list[TenancyPlan] = [p for p in to_write if p.before.version == 0]
        updates: list[TenancyPlan] = [p for p in to_write if p.before.version != 0]
        created, lost = await self._create(creates, now, token)
        written, conflicted = await self._update(updates, now, token)
        return created + written, lost + conflicted

    async def _create(
        self, plans: list[TenancyPlan], now: datetime, token: str
    ) -> tuple[list[TenancyPlan], list[TenancyPlan]]:
        """New tenancies are inserted whole; one another writer created meanwhile is lost."""
        if not plans:
            return [], []
        prepared = []
        for plan in plans:
            body = _nest(self._state_fields(plan, now, token))
            body.update(_id=plan.tenancy_id, version=1, created_at=now)
            prepared.append((body, plan.events))
        # New documents only: their events go out through one outbox batch, with nothing to
        # clear afterwards (shared/outbox_batches.py).
        created: set[str] = set()
        for chunk in _chunks(prepared):
            inserted = await self.runtime.relay.insert_many(self.tenancies, chunk)
            created.update(doc["_id"] for doc in inserted)
        for plan in plans:
            plan.published = plan.tenancy_id in created
        # A tenancy another writer created meanwhile is decided again against it.
        return (
            [p for p in plans if p.tenancy_id in created],
            [p for p in plans if p.tenancy_id not in created],
        )

    async def _update(
        self, plans: list[TenancyPlan], now: datetime, token: str
    ) -> tuple[list[TenancyPlan], list[TenancyPlan]]:
        """Known tenancies are updated only if still at the version read (no upsert, so no
        duplicate-key errors: a guard that fails just matches nothing)."""
        if not plans:
            return [], []
        ops = []
        for plan in plans:
            outbox = outbox_update(plan.events).get("$set", {})
            fields = self._state_fields(plan, now, token)
            ops.append(
                UpdateOne(
                    {"_id": plan.tenancy_id, "version": plan.before.version},
                    {"$set": {**fields, **outbox}, "$inc": {"version": 1}},
                )
            )
        matched = 0
        for chunk in _chunks(ops):
            matched += (await self.tenancies.bulk_write(chunk, ordered=False)).matched_count
        if matched == len(plans):
            return plans, []
        ids = [p.tenancy_id for p in plans]
        mine = {
            doc["_id"]
            async for doc in self.tenancies.find(
                {"_id": {"$in": ids}, "write_token": token}, {"_id": 1}
            )
        }
        return (
            [p for p in plans if p.tenancy_id in mine],
            [p for p in plans if p.tenancy_id not in mine],
        )

    def _state_fields(self, plan: TenancyPlan, now: datetime, token: str) -> dict[str, Any]:
        after = plan.after
        sub, assessment = plan.last_sub, plan.last_assessment
        assert sub is not None and assessment is not None
        fields: dict[str, Any] = {
            "landlord": plan.landlord,
            "tenancy_reference": sub.alert.tenancy_reference,
            "episode": after.episode,
            "signalled_level": after.signalled_level.value if after.signalled_level else None,
            "recent_alerts": list(after.recent_alerts),
            "last_alert": {
                "alert_id": sub.alert_id,
                "risk_level": assessment.level.value if assessment.level else None,
                "reasons": list(assessment.reasons),
                "arrears_balance": sub.alert.arrears_balance,
                "legal_stage": sub.alert.effective_legal_stage.value,
                "received_at": now,
            },
            "updated_at": now,
            "write_token": token,
        }
        for key, entry in after.cases.items():
            if plan.before.cases.get(key) != entry:
                fields[f"cases.{key}"] = _case_body(entry)
        return fields

    async def flush_outbox(
        self, written: Sequence[TenancyPlan], leftovers: dict[str, list[Envelope]]
    ) -> None:
        """Publish a whole batch's events at once, then empty those outboxes in one update.
        Only documents still carrying this write's token are emptied: a later write knows
        what it found there and publishes it too. A failure leaves the events queued for the
        relay's sweeper, as `relay.flush` does."""
        queued = [plan for plan in written if not plan.published]
        envelopes = [
            envelope
            for plan in queued
            for envelope in (*leftovers.get(plan.tenancy_id, ()), *plan.events)
        ]
        if not envelopes:
            return
        ids = [p.tenancy_id for p in queued if p.events or p.tenancy_id in leftovers]
        try:
            await self.runtime.publisher.publish_many(envelopes)
            self.runtime.relay.published += len(envelopes)
            await self.tenancies.update_many(
                {"_id": {"$in": ids}, "write_token": queued[0].write_token},  # one per batch
                {"$set": {OUTBOX: {}, PENDING: False}, "$unset": {LEASE: ""}},
            )
        except Exception as exc:  # the state change is safe; the sweeper publishes later
            log.warning("arrears.flush_deferred", error=str(exc), documents=len(ids))

    # --- projection of cases by tenancy ----------------------------------------------------

    async def record_cases(self, changes: Sequence[CaseChange]) -> None:
        """Move cases forward (never back), in a few round trips; idempotent, so redelivery
        changes nothing."""
        upserts = []
        for change in changes:
            key = case_key(change.case_id)
            entry = _case_body(CaseEntry(change.case_id, change.status, change.at))
            not_behind = [s.value for s in CaseStatus if s.rank >= change.status.rank]
            upserts.append(
                Upsert(
                    change.tenancy_id,
                    {"$set": {f"cases.{key}": entry}, "$inc": {"version": 1}},
                    {
                        "landlord": change.tenancy_id.split(":", 1)[0],
                        "cases": {key: entry},
                        "version": 1,
                    },
                    guard={f"cases.{key}.status": {"$nin": not_behind}},
                )
            )
        await bulk_upsert(self.tenancies, upserts)

    # --- risk rules ------------------------------------------------------------------------

    async def rules_for(self, organisations: Iterable[str]) -> dict[str, RiskRules]:
        orgs = list(dict.fromkeys(organisations))
        stored = {
            doc["_id"]: RiskRules.model_validate(doc["rules"])
            async for doc in self.rules.find({"_id": {"$in": orgs}})
        }
        return {org: stored.get(org, DEFAULT_RULES) for org in orgs}

    async def put_rules(self, organisation: str, rules: RiskRules, now: datetime) -> None:
        await self.rules.update_one(
            {"_id": organisation},
            {"$set": {"rules": rules.model_dump(mode="json"), "updated_at": now}},
            upsert=True,
        )

    # --- CSV batches -----------------------------------------------------------------------

    async def create_batch(
        self,
        organisation: str,
        filename: str | None,
        total_rows: int,
        rejected: list[dict[str, Any]],
        now: datetime,
    ) -> str:
        """Rows are rejected while the file is read, so they are known before processing."""
        batch_id = new_id("batch")
        counts = {k: 0 for k in BATCH_COUNTS}
        counts["rejected"] = len(rejected)
        await self.batches.insert_one(
            {
                "_id": batch_id,
                "organisation": organisation,
                "filename": filename,
                "status": "processing",
                "total_rows": total_rows,
                "processed_rows": len(rejected),
                "counts": counts,
                "rejected_rows": rejected[:MAX_REJECTED_KEPT],
                "created_at": now,
                "finished_at": None,
            }
        )
        return batch_id

    async def add_to_batch(self, batch_id: str, counts: dict[str, int]) -> None:
        processed = sum(counts.get(k, 0) for k in OUTCOME_COUNTS)
        increments = {f"counts.{k}": v for k, v in counts.items() if v}
        await self.batches.update_one(
            {"_id": batch_id}, {"$inc": {"processed_rows": processed, **increments}}
        )

    async def finish_batch(self, batch_id: str, status: str, now: datetime) -> None:
        await self.batches.update_one(
            {"_id": batch_id}, {"$set": {"status": status, "finished_at": now}}
        )

    async def batch(self, organisation: str, batch_id: str) -> Document | None:
        return await self.batches.find_one({"_id": batch_id, "organisation": organisation})


OUTCOME_COUNTS = ("accepted", "unchanged", "duplicate", "rejected")
BATCH_COUNTS = (*OUTCOME_COUNTS, "signalled", "referrals")
