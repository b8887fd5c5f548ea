"""The referral service's answers to subject-access and erasure requests (issue 16), for what it
holds itself: the person's referrals (the submission, where their personal data stays), their
people-index entry and person-matching keys, the flows held for want of an agreement about
their cases, and the tenancy risk state linked to their cases.

Erasure keeps a referral for the statutory returns and outcomes, de-identified: ids, codes,
dates, counts, route and outcome; never a name, date of birth, NI number, contact detail,
address, free text, tenancy reference or household detail. The person leaves the people index
(no repeat-cycle or same-person recognition from then on), a tenancy risk state that only their
cases held is deleted, and the records of the intake and arrears topics that this service has
consumed are deleted from the broker (`shared/topic_purge.py`).

The person's cases' consents are listed, and deleted with the cases (scope person: all of
them; scope cases: those cases'). A landlord's CSV uploads (`arrears_batches`, one document per
job, and `arrears_upload_rows`, one per chunk of rows) hold tenancy references: the rows naming
the person's tenancies are listed, and de-identified on erasure (the tenancy reference, the
alert id derived from it and any free text go; line, status, risk level and counts stay).

The mapping is pure (the functions below); `ReferralPrivacy` reads, stages and commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from services.referral.arrears.decision import case_key
from services.referral.arrears.store import TENANCY_RISK, TenancyRecords
from services.referral.arrears.uploads import JOBS, ROWS
from services.referral.consent_records import CONSENTS
from services.referral.held_flows import HeldFlowRecords, HeldFlows, HoldStatus
from services.referral.store import PersonRecords, ReferralStore
from shared.events.base import event_type_name
from shared.events.catalogue import ContactDetailsShared
from shared.events.privacy_events import (
    ErasureRequested,
    ErasureScope,
    HeldRecord,
    RecordType,
    SubjectAccessRequested,
)
from shared.events.referral_intake import ReferralSubmitted
from shared.kafka import partner_ingress_topics
from shared.logging import get_logger
from shared.mongo import Collection, Database, Document
from shared.outbox import OUTBOX
from shared.privacy_answers import answer_privacy_requests
from shared.runtime import ServiceRuntime
from shared.topics import Topic, topic_name
from shared.unit_of_work import UnitOfWork

SERVICE = "referral"
# Fields of a stored document that are the spine's bookkeeping, not what is held about anyone.
BOOKKEEPING = frozenset(
    {"_id", "_inbox", "_written_by", "version", "request_hash", "_outbox_batch"}
)
# Events a document's outbox may still hold that carry personal data.
PERSONAL_EVENT_TYPES = frozenset(
    {event_type_name(ContactDetailsShared), event_type_name(ReferralSubmitted)}
)
PERSONAL_TOPICS = (Topic.REFERRAL_INTAKE, Topic.ARREARS_ALERTS)

log = get_logger(__name__)


# --- the bundle (pure) ------------------------------------------------------------------------


def held_fields(document: Mapping[str, Any]) -> dict[str, Any]:
    """A stored document as the bundle shows it: its fields without the spine's bookkeeping
    (an outbox shows only which events still wait to be published)."""
    fields = {k: v for k, v in document.items() if k not in BOOKKEEPING}
    for name in [k for k in fields if k.startswith("_outbox")]:
        fields.pop(name)
    waiting = [e["envelope"]["type"] for e in (document.get(OUTBOX) or {}).values()]
    if waiting:
        fields["events_waiting_to_be_published"] = sorted(waiting)
    return fields


def last_changed(document: Mapping[str, Any]) -> datetime | None:
    """The latest moment the referral records: its status history and the case events."""
    moments = [entry.get("at") for entry in document.get("history") or []]
    moments += [document.get(name) for name in ("received_at", "allocated_at", "closed_at")]
    moments.append(document.get("deidentified_at"))
    found = [m for m in moments if isinstance(m, datetime)]
    return max(found) if found else None


def referral_shared_with(
    referral: Mapping[str, Any], flows: Iterable[Mapping[str, Any]]
) -> list[str]:
    """Which organisations the referral (or what it says) went to, and why."""
    organisation = referral.get("organisation")
    shared: list[str] = []
    referrer = (referral.get("referrer") or {}).get("organisation")
    if referrer and referrer != organisation:
        shared.append(f"{referrer}: the referrer, told the referral's status")
    for partner in referral.get("partner_matches") or []:
        shared.append(f"{partner}: told it also knows the person (person-matching agreement)")
    consent = (referral.get("submission") or {}).get("consent") or {}
    if consent.get("to_share"):
        for partner in consent.get("share_with") or []:
            shared.append(f"{partner}: case notices, under the person's consent to share")
    for flow in flows:
        if flow.get("status") == HoldStatus.RELEASED.value:
            shared.append(
                f"{flow.get('to_organisation')}: {flow.get('kind')} for {flow.get('purpose')} "
                "under a data-sharing agreement"
            )
    return list(dict.fromkeys(shared))


def referral_record(referral: Mapping[str, Any], flows: Iterable[Mapping[str, Any]]) -> HeldRecord:
    return HeldRecord(
        kind="referral",
        record_id=str(referral["_id"]),
        held_in="referral/referrals",
        held_since=referral.get("received_at"),
        last_changed=last_changed(referral),
        data=held_fields(referral),
        shared_with=referral_shared_with(referral, flows),
    )


def person_index_record(person_id: str, entry: Mapping[str, Any]) -> HeldRecord:
    return HeldRecord(
        kind="people-index entry",
        record_id=person_id,
        held_in="referral/people",
        held_since=entry.get("created_at"),
        data=held_fields(entry),
    )


def match_key_record(key: Mapping[str, Any]) -> HeldRecord:
    """A keyed (HMAC) match key: which kind of identifier it was made from, never the key."""
    return HeldRecord(
        kind="person-matching key",
        record_id=str(key["_id"]).rpartition(":")[2][:12],
        held_in="referral/person_keys",
        held_since=key.get("at"),
        data={
            "made_from": str(key.get("key", "")).split(":", 1)[0],
            "organisation": key.get("organisation"),
        },
    )


def held_flow_record(flow: Mapping[str, Any]) -> HeldRecord:
    fields = held_fields(flow)
    event = fields.pop("event", None)
    if event:
        fields["held_event"] = {"type": event.get("type"), "data": event.get("data")}
    released = flow.get("status") == HoldStatus.RELEASED.value
    return HeldRecord(
        kind="held flow",
        record_id=str(flow["_id"]),
        held_in="referral/held_flows",
        held_since=flow.get("held_at"),
        last_changed=flow.get("released_at") or flow.get("checked_at"),
        data=fields,
        shared_with=[f"{flow.get('to_organisation')}: released under an agreement"]
        if released
        else [],
    )


def tenancy_record(tenancy: Mapping[str, Any]) -> HeldRecord:
    return HeldRecord(
        kind="tenancy risk state",
        record_id=str(tenancy["_id"]),
        held_in=f"referral/{TENANCY_RISK}",
        held_since=tenancy.get("created_at"),
        last_changed=tenancy.get("updated_at"),
        data=held_fields(tenancy),
    )


def consent_record(consent: Mapping[str, Any]) -> HeldRecord:
    return HeldRecord(
        kind="consent",
        record_id=str(consent["_id"]),
        held_in=f"referral/{CONSENTS}",
        data=held_fields(consent),
    )


# --- CSV uploads naming the person's tenancies (pure) ----------------------------------------

# What stays of an upload row naming the person's tenancy: where it was, what became of it.
ROW_KEPT = ("index", "line", "status", "risk_level", "signalled", "case_id",
            "prevention_case_id", "field")  # fmt: skip


def tenancy_references(referrals: Iterable[Mapping[str, Any]]) -> dict[str, set[str]]:
    """landlord -> the references of its tenancies the person's referrals name (from their
    submissions: a tenancy id is a keyed pseudonym, not the reference), in the form tenancy
    ids are made from (trimmed, upper case)."""
    found: dict[str, set[str]] = {}
    for referral in referrals:
        tenancy = (referral.get("submission") or {}).get("tenancy") or {}
        landlord, reference = tenancy.get("landlord_organisation"), tenancy.get("tenancy_reference")
        if isinstance(landlord, str) and isinstance(reference, str) and reference.strip():
            found.setdefault(landlord, set()).add(reference.strip().upper())
    return found


def names_tenancy(row: Mapping[str, Any], references: set[str]) -> bool:
    reference = row.get("tenancy_reference")
    return isinstance(reference, str) and reference.strip().upper() in references


def row_deidentified(row: Mapping[str, Any]) -> dict[str, Any]:
    """An upload row without the tenancy reference, the alert id made from it and free text
    (the rejection's reason may quote the value); kept by naming what stays."""
    return {**{k: row[k] for k in ROW_KEPT if k in row}, "deidentified": True}


def rows_deidentified(
    rows: Iterable[Mapping[str, Any]], references: set[str]
) -> tuple[list[dict[str, Any]], int]:
    """(the rows with those naming these references de-identified, how many were)."""
    changed, kept = 0, []
    for row in rows:
        if names_tenancy(row, references):
            kept.append(row_deidentified(row))
            changed += 1
        else:
            kept.append(dict(row))
    return kept, changed


def upload_rows_record(
    chunk: Mapping[str, Any], job: Mapping[str, Any], references: set[str]
) -> HeldRecord:
    """The rows of one chunk of a CSV upload that name the person's tenancies."""
    return HeldRecord(
        kind="arrears upload rows",
        record_id=str(chunk["_id"]),
        held_in=f"referral/{ROWS}",
        held_since=job.get("created_at"),
        last_changed=job.get("finished_at"),
        data={
            "job_id": chunk.get("job_id"),
            "filename": job.get("filename"),
            "landlord": job.get("organisation"),
            "rows": [dict(r) for r in chunk.get("rows") or [] if names_tenancy(r, references)],
        },
    )


def upload_job_record(job: Mapping[str, Any], references: set[str]) -> HeldRecord:
    """A CSV upload's job, with the rejected rows that name the person's tenancies."""
    rejected = [dict(r) for r in job.get("rejected_rows") or [] if names_tenancy(r, references)]
    return HeldRecord(
        kind="arrears upload",
        record_id=str(job["_id"]),
        held_in=f"referral/{JOBS}",
        held_since=job.get("created_at"),
        last_changed=job.get("finished_at"),
        data={
            **{k: job.get(k) for k in ("organisation", "filename", "status", "counts")},
            "rejected_rows": rejected,
        },
    )


def tenancy_cases_of(tenancy: Mapping[str, Any], case_ids: Iterable[str]) -> tuple[list[str], int]:
    """(the keys of these cases in the tenancy's projection, how many other cases it holds)."""
    wanted = set(case_ids)
    cases = tenancy.get("cases") or {}
    keys = [key for key, entry in cases.items() if entry.get("case_id") in wanted]
    keys += [case_key(c) for c in wanted if case_key(c) in cases and case_key(c) not in keys]
    return keys, len(cases) - len(keys)


# --- de-identified forms (pure) ---------------------------------------------------------------


def _pick(value: Any, *names: str) -> dict[str, Any]:
    source = value if isinstance(value, Mapping) else {}
    return {name: source[name] for name in names if name in source}


def deidentified_submission(submission: Mapping[str, Any]) -> dict[str, Any]:
    """What statutory returns and outcomes need of a submission: codes, dates, counts, flags.
    Kept by naming what stays, so a field added later is dropped until someone decides."""
    person = submission.get("person") or {}
    household = person.get("household") if isinstance(person, Mapping) else None
    kept: dict[str, Any] = {
        **_pick(submission, "source", "automatic", "support_needs", "referring_area"),
        **_pick(submission, "recourse_to_public_funds"),
        "referrer": _pick(submission.get("referrer"), "organisation", "source"),
        "urgency": _pick(
            submission.get("urgency"), "date_facing_homelessness", "legal_stage", "risk_level"
        ),
        "household_size": (1 + len(household)) if isinstance(household, list) else None,
    }
    if submission.get("consent"):
        kept["consent"] = _pick(submission["consent"], "to_record", "to_share", "share_with")
    if submission.get("contact"):
        kept["contact"] = _pick(submission["contact"], "preferred_channels")
    if submission.get("tenancy"):
        kept["tenancy"] = _pick(submission["tenancy"], "landlord_organisation", "tenure")
    if submission.get("rough_sleeping"):
        kept["rough_sleeping"] = dict(submission["rough_sleeping"])  # counts, dates, flags
    connections = submission.get("local_connections") or []
    kept["local_connections"] = [_pick(c, "area") for c in connections]
    kept["housing_history_entries"] = len(submission.get("housing_history") or [])
    return {k: v for k, v in kept.items() if v is not None}


def personal_outbox_paths(document: Mapping[str, Any]) -> list[str]:
    """The outbox entries still holding an event with personal data in it."""
    outbox = document.get(OUTBOX) or {}
    return [
        f"{OUTBOX}.{key}"
        for key, entry in outbox.items()
        if entry.get("envelope", {}).get("type") in PERSONAL_EVENT_TYPES
    ]


def referral_deidentified(referral: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The update de-identifying one stored referral."""
    referrer = _pick(referral.get("referrer"), "organisation", "source")
    update: dict[str, Any] = {
        "$set": {
            "submission": deidentified_submission(referral.get("submission") or {}),
            "referrer": referrer,
            "tenancy_id": None,
            "request_hash": None,
            "deidentified_at": now,
        }
    }
    paths = personal_outbox_paths(referral)
    if paths:
        update["$unset"] = {path: "" for path in paths}
    return update


def held_flow_deidentified(flow: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """A held flow keeps its kind, parties, purpose, reason and dates; the event it held (the
    referral it would raise) and the tenancy go. A flow still held will never be released."""
    fields: dict[str, Any] = {"event": None, "tenancy_id": None, "deidentified_at": now}
    if flow.get("status") == HoldStatus.HELD.value:
        fields.update(status=HoldStatus.SUPERSEDED.value, superseded_at=now, why="erased")
    return {"$set": fields}


def remaining_index(
    entry: Mapping[str, Any], case_ids: Iterable[str]
) -> tuple[list[str], list[dict[str, Any]]]:
    """A people-index entry's referrals and closures without these cases."""
    gone = set(case_ids)
    referrals = [r for r in entry.get("referral_ids") or [] if r not in gone]
    closures = [dict(c) for c in entry.get("closures") or [] if c.get("case_id") not in gone]
    return referrals, closures


def _count(counts: dict[str, int], kind: str, n: int) -> None:
    if n:
        counts[kind] = counts.get(kind, 0) + n


# --- carrying it out --------------------------------------------------------------------------


class UploadRecords:
    """The CSV uploads' jobs and row chunks naming some tenancies: a constant number of reads
    (the landlords' jobs, then their chunks filtered by reference in the database) and one
    bulk write per collection."""

    def __init__(self, db: Database) -> None:
        self.jobs: Collection = db[JOBS]
        self.rows: Collection = db[ROWS]

    async def naming(
        self, referrals: Iterable[Mapping[str, Any]]
    ) -> tuple[dict[str, set[str]], list[Document], list[Document]]:
        """(landlord -> the references the referrals name, the jobs of those landlords, the
        chunks with a row naming one of them: the caller checks each row exactly)."""
        references = tenancy_references(referrals)
        if not references:
            return references, [], []
        jobs = await self.jobs.find({"organisation": {"$in": sorted(references)}}).to_list(None)
        if not jobs:
            return references, [], []
        wanted = sorted(set().union(*references.values()))
        pattern = {"$regex": _any_of(wanted), "$options": "i"}
        chunks = await self.rows.find(
            {"job_id": {"$in": [j["_id"] for j in jobs]}, "rows.tenancy_reference": pattern}
        ).to_list(None)
        return references, jobs, chunks

    async def deidentify(
        self,
        references: dict[str, set[str]],
        jobs: list[Document],
        chunks: list[Document],
    ) -> int:
        """De-identify the rows naming these references; how many rows were."""
        landlord_of = {j["_id"]: j.get("organisation") for j in jobs}
        changed = 0
        row_updates = []
        for chunk in chunks:
            mine = references.get(landlord_of.get(chunk.get("job_id")) or "", set())
            rows, n = rows_deidentified(chunk.get("rows") or [], mine)
            if n:
                row_updates.append(UpdateOne({"_id": chunk["_id"]}, {"$set": {"rows": rows}}))
                changed += n
        job_updates = []
        for job in jobs:
            mine = references.get(job.get("organisation") or "", set())
            rejected, n = rows_deidentified(job.get("rejected_rows") or [], mine)
            if n:
                job_updates.append(
                    UpdateOne({"_id": job["_id"]}, {"$set": {"rejected_rows": rejected}})
                )
        if row_updates:
            await self.rows.bulk_write(row_updates, ordered=False)
        if job_updates:
            await self.jobs.bulk_write(job_updates, ordered=False)
        return changed


def _any_of(references: list[str]) -> str:
    """A pattern matching any of these references as a whole, spaces around allowed."""
    return r"^\s*(" + "|".join(re.escape(r) for r in references) + r")\s*$"


class ReferralPrivacy:
    def __init__(self, runtime: ServiceRuntime, store: ReferralStore, held: HeldFlows) -> None:
        self.runtime = runtime
        self.people = PersonRecords(store)
        self.flows = HeldFlowRecords(held)
        self.tenancies = TenancyRecords(runtime.db[TENANCY_RISK])
        self.consents = runtime.db[CONSENTS]  # each case's consent (`consent_records.py`)
        self.uploads = UploadRecords(runtime.db)  # CSV uploads' jobs and rows

    async def _holdings(
        self, organisation: str, person_id: str, case_ids: list[str] | None
    ) -> tuple[list[Document], list[Document], list[Document]]:
        referrals = await self.people.referrals(organisation, person_id, case_ids)
        ids = [str(r["_id"]) for r in referrals]
        flows = await self.flows.about(ids)
        tenancy_ids = {r["tenancy_id"] for r in referrals if r.get("tenancy_id")}
        tenancy_ids |= {f["tenancy_id"] for f in flows if f.get("tenancy_id")}
        tenancies = [
            t for t in await self.tenancies.get_many(tenancy_ids) if tenancy_cases_of(t, ids)[0]
        ]
        return referrals, flows, tenancies

    async def access(self, request: SubjectAccessRequested) -> list[HeldRecord]:
        organisation, person_id = request.organisation, request.person_id
        referrals, flows, tenancies = await self._holdings(organisation, person_id, None)
        records = [
            referral_record(r, [f for f in flows if f.get("subject") == r["_id"]])
            for r in referrals
        ]
        entry = await self.people.store.get_person(person_id)
        if entry is not None and organisation in (entry.get("organisations") or []):
            records.append(person_index_record(person_id, entry))
        records += [
            match_key_record(k) for k in await self.people.match_keys(organisation, person_id)
        ]
        records += [held_flow_record(f) for f in flows]
        records += [tenancy_record(t) for t in tenancies]
        ids = [str(r["_id"]) for r in referrals]
        consents = await self.consents.find({"_id": {"$in": ids}}).to_list(None) if ids else []
        records += [consent_record(c) for c in consents]
        references, jobs, chunks = await self.uploads.naming(referrals)
        job_of = {j["_id"]: j for j in jobs}
        for chunk in chunks:
            job = job_of.get(chunk.get("job_id"), {})
            mine = references.get(job.get("organisation") or "", set())
            record = upload_rows_record(chunk, job, mine)
            if record.data["rows"]:
                records.append(record)
        for job in jobs:
            record = upload_job_record(job, references.get(job.get("organisation") or "", set()))
            if record.data["rejected_rows"]:
                records.append(record)
        return records

    async def erase(self, request: ErasureRequested) -> tuple[dict[str, int], dict[str, int]]:
        erased: dict[str, int] = {}
        deidentified: dict[str, int] = {}
        organisation, person_id = request.organisation, request.person_id
        whole_person = request.scope is ErasureScope.PERSON
        if request.covers(RecordType.CASEWORK):
            cases = None if whole_person else list(request.case_ids)
            referrals, flows, tenancies = await self._holdings(organisation, person_id, cases)
            ids = [str(r["_id"]) for r in referrals]
            # Read before the submissions lose their tenancy references below.
            uploads = await self.uploads.naming(referrals)
            now = self.runtime.clock.now()
            uow = UnitOfWork(self.runtime.relay)
            for referral in referrals:
                if referral.get("deidentified_at") is None:
                    self.people.deidentify_referral(
                        uow, referral["_id"], referral_deidentified(referral, now)
                    )
            for flow in flows:
                if flow.get("deidentified_at") is None:
                    self.flows.deidentify(uow, flow["_id"], held_flow_deidentified(flow, now))
            emptied = []
            for tenancy in tenancies:
                keys, others = tenancy_cases_of(tenancy, ids)
                if others:
                    self.tenancies.drop_cases(uow, tenancy["_id"], keys)
                    _count(deidentified, "tenancy risk state", 1)
                else:
                    emptied.append(str(tenancy["_id"]))
            committed = await uow.commit()
            _count(deidentified, "referral", len(committed.written & set(ids)))
            _count(deidentified, "held flow", len(committed.written & {f["_id"] for f in flows}))
            _count(erased, "tenancy risk state", await self.tenancies.delete(emptied))
            if ids:
                gone = await self.consents.delete_many({"_id": {"$in": ids}})
                _count(erased, "consent", gone.deleted_count)
            _count(deidentified, "arrears upload row", await self.uploads.deidentify(*uploads))
            await self._forget(organisation, person_id, None if whole_person else ids, erased)
            _count(erased, "consumed topic partitions", await self._purge_topics())
        await self._quarantine(request, erased)
        log.info("privacy.referral_erased", request_id=request.request_id, erased=erased,
                 deidentified=deidentified)  # fmt: skip
        return erased, deidentified

    async def _forget(
        self, organisation: str, person_id: str, case_ids: list[str] | None, erased: dict[str, int]
    ) -> None:
        """The person out of the people index (whole person), or only these cases out of it."""
        entry = await self.people.store.get_person(person_id)
        ours = entry is not None and organisation in (entry.get("organisations") or [])
        if case_ids is not None and entry is not None and ours:
            referrals, closures = remaining_index(entry, case_ids)
            if referrals:
                uow = UnitOfWork(self.runtime.relay)
                self.people.keep_cases(uow, person_id, referrals, closures)
                await uow.commit()
                return
        people, keys = await self.people.forget(organisation, person_id, entry_too=ours)
        _count(erased, "people-index entry", people)
        _count(erased, "person-matching key", keys)

    async def _purge_topics(self) -> int:
        """Delete what this service's consumers have consumed of the topics carrying personal
        data (intake and arrears feeds, partners' own ingress topics included)."""
        settings = self.runtime.settings
        personal = {topic_name(t, settings.topic_prefix) for t in PERSONAL_TOPICS}
        personal |= set(partner_ingress_topics(settings))
        moved = 0
        for consumer in self.runtime.consumers:
            topics = [t for t in consumer.topics if t in personal]
            if topics:
                moved += len(await consumer.purge_consumed(topics))
        return moved

    async def _quarantine(self, request: ErasureRequested, erased: dict[str, int]) -> None:
        quarantine = getattr(self.runtime, "quarantine", None)
        if quarantine is None or not request.covers(RecordType.QUARANTINE):
            return
        subjects = [request.person_id, *request.case_ids]
        if request.scope is ErasureScope.PERSON:
            found = await self.people.referrals(request.organisation, request.person_id)
            subjects += [str(r["_id"]) for r in found]
        _count(erased, "quarantined record", await quarantine.erase_subjects(
            request.organisation, list(dict.fromkeys(subjects))))  # fmt: skip


def install(runtime: ServiceRuntime, store: ReferralStore, held: HeldFlows) -> ReferralPrivacy:
    """Answer the privacy service's requests (a consumer group of their own)."""
    privacy = ReferralPrivacy(runtime, store, held)
    answer_privacy_requests(runtime, SERVICE, privacy.access, privacy.erase)
    return privacy
