"""The arrears part's own collections; the only module here that talks to MongoDB.

- `tenancy_risk`: one document per tenancy id — the risk episode (highest level signalled,
  recent alert ids), what the feed last told outcomes (`tenancy_ends`, `reported_figures`), the
  projection of the tenancy's cases, and the outbox of its events.
  Keeping both in one document means a case opening and an alert deciding cannot pass each
  other: every write bumps `version`, and alert writes are guarded on the version they read.
- `arrears_risk_rules`: each organisation's thresholds.
(CSV uploads, their jobs and per-row results, are `uploads.py`'s.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from services.referral.arrears.decision import (
    AlertFacts,
    CaseEntry,
    CaseStatus,
    Figures,
    Recency,
    TenancyState,
    case_key,
)
from services.referral.arrears.planning import TenancyPlan
from services.referral.arrears.risk_rules import DEFAULT_RULES, RiskRules
from services.referral.tenancy_references import reference_shared
from shared.codes import LegalStage, RiskLevel
from shared.events.envelope import Envelope
from shared.inbox import INBOX_FIELD
from shared.lanes import Lane
from shared.logging import get_logger
from shared.mongo import Collection, Document
from shared.outbox import OUTBOX
from shared.repository import Loaded, RawDocuments, Repository
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork

TENANCY_RISK = "tenancy_risk"
RISK_RULES = "arrears_risk_rules"
log = get_logger(__name__)


@dataclass(frozen=True)
class CaseChange:
    tenancy_id: str
    case_id: str
    status: CaseStatus
    at: datetime | None
    organisation: str | None = None  # whose case (the event's organisation)


def state_from_document(tenancy_id: str, document: Document | None) -> TenancyState:
    if document is None:
        return TenancyState(tenancy_id=tenancy_id)
    cases = {
        key: CaseEntry(
            entry["case_id"],
            CaseStatus(entry["status"]),
            entry.get("at"),
            entry.get("organisation"),
        )
        for key, entry in (document.get("cases") or {}).items()
    }
    level = document.get("signalled_level")
    reported = document.get("reported_figures")
    return TenancyState(
        tenancy_id=tenancy_id,
        version=int(document.get("version", 0)),
        episode=int(document.get("episode", 0)),
        signalled_level=RiskLevel(level) if level else None,
        recent_alerts=tuple(document.get("recent_alerts") or ()),
        cases=cases,
        ends=tuple(date.fromisoformat(day) for day in document.get("tenancy_ends") or ()),
        reported=_figures(reported) if reported else None,
        latest=_facts(document.get("last_alert")),
        as_of=_recency(document.get("as_of")),
    )


def _facts(body: Document | None) -> AlertFacts | None:
    """What the last alert said (stored as `last_alert` before issue 21 too)."""
    if not body or "arrears_balance" not in body:
        return None
    level = body.get("risk_level")
    return AlertFacts(
        RiskLevel(level) if level else None,
        tuple(body.get("reasons") or ()),
        float(body["arrears_balance"]),
        body.get("weeks_in_arrears"),
        LegalStage(body.get("legal_stage") or LegalStage.NONE),
    )


def _recency(body: Document | None) -> Recency | None:
    if not body:
        return None  # written before issue 21: no alert is stale against it
    day = body.get("reported_on")
    sent_at = body["sent_at"]
    if isinstance(sent_at, str):
        sent_at = datetime.fromisoformat(sent_at)
    elif sent_at.tzinfo is None:  # a BSON datetime (an earlier build of issue 21)
        sent_at = sent_at.replace(tzinfo=UTC)
    return Recency(sent_at, date.fromisoformat(day) if day else None)


def _recency_body(recency: Recency | None) -> dict[str, Any] | None:
    if recency is None:
        return None
    day = recency.reported_on.isoformat() if recency.reported_on else None
    # To the microsecond, as compared: a BSON datetime keeps milliseconds, and an alert sent
    # in the same millisecond as the last change, but before it, must still be stale.
    return {"sent_at": recency.sent_at.astimezone(UTC).isoformat(), "reported_on": day}


def _figures(body: Document) -> Figures:
    return Figures(
        float(body["arrears_balance"]),
        body.get("weekly_rent"),
        LegalStage(body.get("legal_stage") or LegalStage.NONE),
    )


def _figures_body(figures: Figures | None) -> dict[str, Any] | None:
    if figures is None:
        return None
    return {
        "arrears_balance": figures.arrears_balance,
        "weekly_rent": figures.weekly_rent,
        "legal_stage": figures.legal_stage.value,
    }


def _case_body(entry: CaseEntry) -> dict[str, Any]:
    body = {"case_id": entry.case_id, "status": entry.status.value, "at": entry.at}
    if entry.organisation:
        body["organisation"] = entry.organisation
    return body


# What deciding an alert reads of a tenancy (not its last alert's details).
STATE_PROJECTION = {
    "version": 1, "episode": 1, "signalled_level": 1, "recent_alerts": 1, "cases": 1, OUTBOX: 1,
    INBOX_FIELD: 1, "tenancy_ends": 1, "reported_figures": 1, "last_alert": 1, "as_of": 1,
}  # fmt: skip


class TenancyRiskRepository(Repository[TenancyState]):
    """The risk state of one tenancy; the document also keeps its last alert (written beside
    it by `ArrearsStore.stage`) and the projection of its cases."""

    def to_document(self, model: TenancyState) -> Document:
        return {
            "episode": model.episode,
            "signalled_level": model.signalled_level.value if model.signalled_level else None,
            "recent_alerts": list(model.recent_alerts),
            "cases": {key: _case_body(entry) for key, entry in model.cases.items()},
            # Dates as ISO days: BSON has datetimes only.
            "tenancy_ends": [day.isoformat() for day in model.ends],
            "reported_figures": _figures_body(model.reported),
            "as_of": _recency_body(model.as_of),
        }

    def from_document(self, document: Document) -> TenancyState:
        return state_from_document(str(document["_id"]), document)


class ArrearsStore:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        self.tenancies = runtime.collection(TENANCY_RISK, outbox=True)
        self.repository = TenancyRiskRepository(self.tenancies, TenancyState, "tenancy_id")
        runtime.use_outbox_batches()  # new tenancies are inserted in bulk
        self.rules = runtime.collection(RISK_RULES)
        runtime.on_startup(self.ensure_indexes)

    async def ensure_indexes(self) -> None:
        await self.tenancies.create_index([("landlord", 1)])

    # --- tenancy risk state ----------------------------------------------------------------

    async def load(self, tenancy_ids: Iterable[str]) -> dict[str, Loaded[TenancyState]]:
        """The tenancies' risk states as stored; an id without a document is missing."""
        wanted = list(dict.fromkeys(tenancy_ids))
        if not wanted:
            return {}
        # One `find` by `_id $in` (FerretDB narrows it by the `_id` index), its whole answer in
        # the first reply: no getMore round trip per poll.
        found = self.tenancies.find(
            {"_id": {"$in": wanted}}, STATE_PROJECTION, batch_size=len(wanted)
        )
        return {str(doc["_id"]): self.repository.load(doc) async for doc in found}

    async def tenancy(self, landlord: str, tenancy_id: str) -> Document | None:
        return await self.tenancies.find_one(
            {"_id": tenancy_id, "landlord": landlord}, {OUTBOX: 0, "_inbox": 0}
        )

    async def tenancies_of(
        self, landlord: str, limit: int, offset: int = 0
    ) -> tuple[int, list[Document]]:
        """The landlord's tenancies that have had an alert, the latest alert first, a page at a
        time, with how many there are."""
        where = {"landlord": landlord, "last_alert": {"$exists": True}}
        total = await self.tenancies.count_documents(where)
        found = self.tenancies.find(where, {OUTBOX: 0, INBOX_FIELD: 0, "recent_alerts": 0})
        page = found.sort([("updated_at", -1), ("_id", 1)]).skip(offset).limit(limit)
        return total, await page.to_list(None)

    def stage(
        self,
        uow: UnitOfWork,
        plans: Sequence[TenancyPlan],
        loaded: dict[str, Loaded[TenancyState]],
        now: datetime,
    ) -> None:
        """Each plan that changes its tenancy: a new document, or a save guarded on the
        version its state was read at (so a case opening and an alert deciding cannot pass
        each other). The unit writes them in bulk and publishes their events at once."""
        for plan in plans:
            if not plan.needs_write:
                continue
            fields = self._alert_fields(plan, now)
            if plan.tenancy_id in loaded:
                uow.save(
                    self.repository, loaded[plan.tenancy_id], plan.after, plan.events,
                    extra=fields,
                )  # fmt: skip
            else:
                # The tenancy first seen: its reference told to notifications, in the insert.
                events = [*plan.events, first_seen_reference(plan, now)]
                uow.add(self.repository, plan.after, events, extra={**fields, "created_at": now})

    @staticmethod
    def _alert_fields(plan: TenancyPlan, now: datetime) -> dict[str, Any]:
        """Beside the state: the last alert that changed it (a repeat changes none of this)."""
        sub, facts = plan.last_sub, plan.after.latest
        assert sub is not None and facts is not None
        return {
            "landlord": plan.landlord,
            "tenancy_reference": sub.alert.tenancy_reference,
            "last_alert": {
                "alert_id": sub.alert_id,
                "risk_level": facts.risk_level.value if facts.risk_level else None,
                "reasons": list(facts.reasons),
                "arrears_balance": facts.arrears_balance,
                "weeks_in_arrears": facts.weeks_in_arrears,
                "legal_stage": facts.legal_stage.value,
                "received_at": now,
            },
            "updated_at": now,
        }

    # --- projection of cases by tenancy ----------------------------------------------------

    async def record_cases(self, changes: Sequence[CaseChange]) -> None:
        """Move cases forward (never back), in a few round trips; idempotent, so redelivery
        changes nothing."""
        uow = UnitOfWork(self.runtime.relay)
        for change in changes:
            key = case_key(change.case_id)
            entry = _case_body(
                CaseEntry(change.case_id, change.status, change.at, change.organisation)
            )
            not_behind = [s.value for s in CaseStatus if s.rank >= change.status.rank]
            uow.upsert(
                self.repository,
                change.tenancy_id,
                {"$set": {f"cases.{key}": entry}},
                {"landlord": change.tenancy_id.split(":", 1)[0], "cases": {key: entry}},
                guard={f"cases.{key}.status": {"$nin": not_behind}},
                idempotent=True,
            )
        await uow.commit()

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


def first_seen_reference(plan: TenancyPlan, now: datetime) -> Envelope:
    """The tenancy's reference, told when an alert first names it: in the bulk lane, as
    everything an alert causes (signals.py), so a batch's new tenancies are recorded by the
    bulk side of notifications, not beside a person's events."""
    sub = plan.last_sub
    assert sub is not None
    return reference_shared(
        plan.tenancy_id,
        plan.landlord,
        sub.alert.tenancy_reference,
        now,
        sub.correlation_id,
        lane=Lane.BULK,
    )


OUTCOME_COUNTS = ("accepted", "unchanged", "duplicate", "rejected")


class TenancyRecords:
    """Tenancy risk documents linked to a person's cases, read and erased for the privacy
    service (issue 16). Given the collection, so it can be used beside the arrears part's own
    store without a second outbox watch."""

    def __init__(self, collection: Collection) -> None:
        self.collection = collection
        self.documents = RawDocuments(collection)

    async def get_many(self, tenancy_ids: Iterable[str]) -> list[Document]:
        ids = sorted(set(tenancy_ids))
        if not ids:
            return []
        return await self.collection.find({"_id": {"$in": ids}}).to_list(None)

    def drop_cases(self, uow: UnitOfWork, tenancy_id: str, case_keys: Sequence[str]) -> None:
        unset = {f"cases.{key}": "" for key in case_keys}
        uow.change(self.documents, tenancy_id, {"$unset": unset}, idempotent=True)

    async def delete(self, tenancy_ids: Sequence[str]) -> int:
        if not tenancy_ids:
            return 0
        result = await self.collection.delete_many({"_id": {"$in": list(tenancy_ids)}})
        return result.deleted_count
