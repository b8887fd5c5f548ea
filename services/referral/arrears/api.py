"""HTTP for arrears alerts and risk rules. The landlord is always the caller's organisation."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, HTTPException, Path, UploadFile, status
from pydantic import BaseModel, Field, ValidationError

from services.referral.arrears.alert import (
    AlertSubmission,
    ArrearsAlert,
    ForeignTenancy,
    submission_for,
)
from services.referral.arrears.batcher import AlertBatcher
from services.referral.arrears.csv_rows import CsvFileError, read_csv
from services.referral.arrears.decision import CaseStatus, Outcome
from services.referral.arrears.handlers import validation_reason
from services.referral.arrears.pipeline import AlertPipeline, ConflictPersisted
from services.referral.arrears.planning import AlertResult
from services.referral.arrears.risk_rules import RiskRules
from services.referral.arrears.store import OUTCOME_COUNTS, ArrearsStore
from shared.auth import CallerDep
from shared.clock import Clock
from shared.ids import tenancy_id

MAX_BATCH = 10_000  # alerts per JSON batch; larger sets go as CSV
MAX_CSV_BYTES = 50 * 1024 * 1024
CSV_CHUNK = 2_000  # rows decided and written together; progress is updated per chunk
ID_PATTERN = r"^[A-Za-z0-9._:-]{1,100}$"


class AlertResultOut(BaseModel):
    status: Outcome = Field(
        description="accepted (risk changed: rise signalled or arrears cleared), unchanged "
        "(recorded, nothing new), duplicate (already received), rejected"
    )
    index: int | None = Field(None, description="position in a batch request")
    line: int | None = Field(None, description="line in the CSV file")
    tenancy_reference: str | None = None
    tenancy_id: str | None = None
    alert_id: str | None = None
    risk_level: str | None = None
    reasons: list[str] = []
    signalled: bool = Field(False, description="TenancyAtRisk was emitted for this alert")
    case_id: str | None = Field(None, description="the open case named in TenancyAtRisk")
    prevention_case_id: str | None = Field(None, description="the prevention referral raised")
    reason: str | None = Field(None, description="why rejected, naming the field or column")


class BatchOut(BaseModel):
    counts: dict[str, int]
    results: list[AlertResultOut]


class CsvUploadOut(BaseModel):
    batch_id: str
    status: str
    counts: dict[str, int]
    ignored_columns: list[str] = []
    rows: list[AlertResultOut]


class BatchProgressOut(BaseModel):
    batch_id: str
    status: str = Field(description="processing, completed or failed")
    filename: str | None = None
    total_rows: int
    processed_rows: int
    counts: dict[str, int]
    rejected_rows: list[dict[str, Any]]


def _out(result: AlertResult, where: str) -> AlertResultOut:
    body = result.as_dict()
    body[where] = body.pop("position", result.position)
    return AlertResultOut.model_validate(body)


def _counts(results: list[AlertResult]) -> dict[str, int]:
    tally = Counter(r.status.value for r in results)
    counts = {k: tally.get(k, 0) for k in OUTCOME_COUNTS}
    counts["signalled"] = sum(r.signalled for r in results)
    counts["referrals"] = sum(r.prevention_case_id is not None for r in results)
    return counts


def _refuse(exc: ForeignTenancy, prefix: str = "") -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, f"{prefix}{exc}")


def build_router(
    store: ArrearsStore, pipeline: AlertPipeline, batcher: AlertBatcher, clock: Clock
) -> APIRouter:
    router = APIRouter(tags=["arrears alerts"])

    async def run(subs: list[AlertSubmission]) -> list[AlertResult]:
        try:
            return await pipeline.process(subs)
        except ConflictPersisted as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc

    @router.post("/arrears-alerts", response_model=AlertResultOut, response_model_exclude_none=True)
    async def submit_alert(caller: CallerDep, alert: ArrearsAlert) -> AlertResultOut:
        """One alert (webhook). Repeats and same-or-lower levels change nothing."""
        try:
            sub = submission_for(alert, caller.organisation)
        except ForeignTenancy as exc:
            raise _refuse(exc) from exc
        try:
            result = await batcher.submit(sub)
        except ConflictPersisted as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
        return _out(result, "index")

    @router.post("/arrears-alerts/batch", response_model=BatchOut, response_model_exclude_none=True)
    async def submit_batch(
        caller: CallerDep,
        alerts: Annotated[
            list[dict[str, Any]],
            Body(
                min_length=1,
                max_length=MAX_BATCH,
                description="a list of alerts, each as POST /arrears-alerts takes",
            ),
        ],
    ) -> BatchOut:
        """Many alerts; each gets its own result, and a bad one does not stop the rest.
        An alert naming another landlord refuses the whole request (403)."""
        results: dict[int, AlertResult] = {}
        subs: list[AlertSubmission] = []
        for index, raw in enumerate(alerts):
            try:
                alert = ArrearsAlert.model_validate(raw)
            except ValidationError as exc:
                results[index] = AlertResult(
                    position=index,
                    status=Outcome.REJECTED,
                    tenancy_reference=_reference(raw),
                    reason=validation_reason(exc, f"{index}."),
                )
                continue
            try:
                subs.append(submission_for(alert, caller.organisation, position=index))
            except ForeignTenancy as exc:
                raise _refuse(exc, f"{index}.") from exc
        for result in await run(subs):
            results[result.position] = result
        ordered = [results[i] for i in sorted(results)]
        return BatchOut(counts=_counts(ordered), results=[_out(r, "index") for r in ordered])

    @router.post(
        "/arrears-alerts/csv", response_model=CsvUploadOut, response_model_exclude_none=True
    )
    async def upload_csv(
        caller: CallerDep,
        file: Annotated[UploadFile, File(description="CSV, header row of field names")],
    ) -> CsvUploadOut:
        """A nightly batch. Good rows are accepted even when others are bad; each row is
        reported with its line. Progress: GET /arrears-alerts/batches/{batch_id}."""
        content = await file.read(MAX_CSV_BYTES + 1)
        if len(content) > MAX_CSV_BYTES:
            raise HTTPException(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                f"file: larger than {MAX_CSV_BYTES // (1024 * 1024)} MiB",
            )
        try:
            parsed = read_csv(content)
        except CsvFileError as exc:
            raise HTTPException(422, str(exc)) from exc
        rejected: list[AlertResult] = []
        subs: list[AlertSubmission] = []
        for row in parsed.rows:
            if row.alert is None:
                rejected.append(_rejected_row(row.line, row.tenancy_reference, row.error))
                continue
            try:
                subs.append(submission_for(row.alert, caller.organisation, position=row.line))
            except ForeignTenancy as exc:
                rejected.append(_rejected_row(row.line, row.tenancy_reference, str(exc)))
        now = clock.now()
        rejected_out = [_out(r, "line").model_dump(exclude_none=True) for r in rejected]
        batch_id = await store.create_batch(
            caller.organisation, file.filename, len(parsed.rows), rejected_out, now
        )
        done: list[AlertResult] = list(rejected)
        try:
            for start in range(0, len(subs), CSV_CHUNK):
                chunk_results = await run(subs[start : start + CSV_CHUNK])
                counts = _counts(chunk_results)
                await store.add_to_batch(batch_id, counts)
                done.extend(chunk_results)
        except Exception as exc:
            await store.finish_batch(batch_id, "failed", clock.now())
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"file: processing stopped after {len(done)} of {len(parsed.rows)} rows "
                f"(batch {batch_id}); upload the file again — rows already recorded come back "
                "as duplicates",
            ) from exc
        await store.finish_batch(batch_id, "completed", clock.now())
        done.sort(key=lambda r: r.position)
        return CsvUploadOut(
            batch_id=batch_id,
            status="completed",
            counts=_counts(done),
            ignored_columns=parsed.ignored_columns,
            rows=[_row_out(r) for r in done],
        )

    @router.get(
        "/arrears-alerts/batches/{batch_id}",
        response_model=BatchProgressOut,
        responses={404: {"description": "no such batch for your organisation"}},
    )
    async def batch_progress(
        caller: CallerDep, batch_id: Annotated[str, Path(pattern=ID_PATTERN)]
    ) -> BatchProgressOut:
        document = await store.batch(caller.organisation, batch_id)
        if document is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "batch_id: no such batch")
        return BatchProgressOut(batch_id=document["_id"], **_without_id(document))

    @router.get(
        "/arrears-alerts/tenancies/{tenancy_reference}",
        responses={404: {"description": "no alert received for this tenancy"}},
    )
    async def tenancy_risk(
        caller: CallerDep,
        tenancy_reference: Annotated[str, Path(min_length=1, max_length=100)],
    ) -> dict[str, Any]:
        """The tenancy's risk episode and the cases the service knows for it."""
        tid = tenancy_id(caller.organisation, tenancy_reference)
        document = await store.tenancy(caller.organisation, tid)
        if document is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "tenancy_reference: no alerts known")
        cases = list((document.get("cases") or {}).values())
        return {
            "tenancy_id": tid,
            "tenancy_reference": document.get("tenancy_reference"),
            "episode": document.get("episode", 0),
            "signalled_level": document.get("signalled_level"),
            "last_alert": document.get("last_alert"),
            "open_cases": [c["case_id"] for c in cases if c["status"] == CaseStatus.OPEN],
            "pending_cases": [c["case_id"] for c in cases if c["status"] == CaseStatus.PENDING],
        }

    @router.get("/risk-rules", response_model=RiskRules, tags=["risk rules"])
    async def get_rules(caller: CallerDep) -> RiskRules:
        """Your organisation's risk thresholds (the defaults until you set your own)."""
        return (await store.rules_for([caller.organisation]))[caller.organisation]

    @router.put("/risk-rules", response_model=RiskRules, tags=["risk rules"])
    async def put_rules(caller: CallerDep, rules: RiskRules) -> RiskRules:
        """Replace your organisation's thresholds; fields left out take their defaults."""
        await store.put_rules(caller.organisation, rules, clock.now())
        return rules

    return router


def _reference(raw: Any) -> str | None:
    value = raw.get("tenancy_reference") if isinstance(raw, dict) else None
    return value[:100] if isinstance(value, str) else None


def _rejected_row(line: int, reference: str | None, reason: str | None) -> AlertResult:
    return AlertResult(
        position=line, status=Outcome.REJECTED, tenancy_reference=reference, reason=reason
    )


def _row_out(result: AlertResult) -> AlertResultOut:
    out = _out(result, "line")
    return out.model_copy(update={"reasons": [], "alert_id": None, "tenancy_id": None})


def _without_id(document: dict[str, Any]) -> dict[str, Any]:
    keys = ("status", "filename", "total_rows", "processed_rows", "counts", "rejected_rows")
    return {k: document.get(k) for k in keys}
