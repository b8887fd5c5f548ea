"""HTTP for arrears alerts and risk rules. The landlord is always the caller's organisation."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, File, HTTPException, Path, UploadFile, status
from pydantic import ValidationError

from services.referral.arrears import views
from services.referral.arrears.alert import (
    AlertSubmission,
    ArrearsAlert,
    ForeignTenancy,
    submission_for,
)
from services.referral.arrears.batcher import AlertBatcher
from services.referral.arrears.csv_rows import CsvFile, CsvFileError, read_csv
from services.referral.arrears.decision import Outcome
from services.referral.arrears.handlers import validation_reason
from services.referral.arrears.pipeline import AlertPipeline, ConflictPersisted
from services.referral.arrears.planning import AlertResult
from services.referral.arrears.risk_rules import RiskRules
from services.referral.arrears.store import ArrearsStore
from services.referral.arrears.views import AlertResultOut, BatchOut, BatchProgressOut, CsvUploadOut
from shared.auth import CallerDep
from shared.clock import Clock
from shared.ids import tenancy_id

MAX_BATCH = 10_000  # alerts per JSON batch; larger sets go as CSV
MAX_CSV_BYTES = 50 * 1024 * 1024
CSV_CHUNK = 2_000  # rows decided and written together; progress is updated per chunk
ID_PATTERN = r"^[A-Za-z0-9._:-]{1,100}$"

T = TypeVar("T")


def build_router(
    store: ArrearsStore, pipeline: AlertPipeline, batcher: AlertBatcher, clock: Clock
) -> APIRouter:
    router = APIRouter(tags=["arrears alerts"])
    # Added in this order, which is the order of the OpenAPI document.
    _alert_routes(router, pipeline, batcher)
    _csv_routes(router, store, pipeline, clock)
    _lookup_routes(router, store)
    _rules_routes(router, store, clock)
    return router


def _alert_routes(router: APIRouter, pipeline: AlertPipeline, batcher: AlertBatcher) -> None:
    @router.post("/arrears-alerts", response_model=AlertResultOut, response_model_exclude_none=True)
    async def submit_alert(caller: CallerDep, alert: ArrearsAlert) -> AlertResultOut:
        """One alert (webhook). Repeats and same-or-lower levels change nothing."""
        try:
            sub = submission_for(alert, caller.organisation)
        except ForeignTenancy as exc:
            raise _refuse(exc) from exc
        return views.result_out(await _conflict_is_409(batcher.submit(sub)), "index")

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
        results, subs = _batch_submissions(alerts, caller.organisation)
        for result in await _conflict_is_409(pipeline.process(subs)):
            results[result.position] = result
        ordered = [results[i] for i in sorted(results)]
        return BatchOut(
            counts=views.counts(ordered), results=[views.result_out(r, "index") for r in ordered]
        )


def _csv_routes(
    router: APIRouter, store: ArrearsStore, pipeline: AlertPipeline, clock: Clock
) -> None:
    @router.post(
        "/arrears-alerts/csv", response_model=CsvUploadOut, response_model_exclude_none=True
    )
    async def upload_csv(
        caller: CallerDep,
        file: Annotated[UploadFile, File(description="CSV, header row of field names")],
    ) -> CsvUploadOut:
        """A nightly batch. Good rows are accepted even when others are bad; each row is
        reported with its line. Progress: GET /arrears-alerts/batches/{batch_id}."""
        parsed = _parsed_csv(await file.read(MAX_CSV_BYTES + 1))
        rejected, subs = _csv_submissions(parsed, caller.organisation)
        rejected_out = [views.result_out(r, "line").model_dump(exclude_none=True) for r in rejected]
        batch_id = await store.create_batch(
            caller.organisation, file.filename, len(parsed.rows), rejected_out, clock.now()
        )
        processed = await _process_in_chunks(
            store, pipeline, clock, batch_id, subs, parsed, rejected
        )
        await store.finish_batch(batch_id, "completed", clock.now())
        done = sorted([*rejected, *processed], key=lambda r: r.position)
        return CsvUploadOut(
            batch_id=batch_id,
            status="completed",
            counts=views.counts(done),
            ignored_columns=parsed.ignored_columns,
            rows=[views.row_out(r) for r in done],
        )


def _lookup_routes(router: APIRouter, store: ArrearsStore) -> None:
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
        return views.batch_progress(document)

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
        return views.tenancy_risk(tid, document, caller.organisation)


def _rules_routes(router: APIRouter, store: ArrearsStore, clock: Clock) -> None:
    @router.get("/risk-rules", response_model=RiskRules, tags=["risk rules"])
    async def get_rules(caller: CallerDep) -> RiskRules:
        """Your organisation's risk thresholds (the defaults until you set your own)."""
        return (await store.rules_for([caller.organisation]))[caller.organisation]

    @router.put("/risk-rules", response_model=RiskRules, tags=["risk rules"])
    async def put_rules(caller: CallerDep, rules: RiskRules) -> RiskRules:
        """Replace your organisation's thresholds; fields left out take their defaults."""
        await store.put_rules(caller.organisation, rules, clock.now())
        return rules


async def _conflict_is_409(processing: Awaitable[T]) -> T:
    """A conflict the pipeline could not settle (it persisted through its retries) is a 409."""
    try:
        return await processing
    except ConflictPersisted as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


def _batch_submissions(
    alerts: list[dict[str, Any]], organisation: str
) -> tuple[dict[int, AlertResult], list[AlertSubmission]]:
    """A JSON batch's alerts: the invalid ones rejected by index, the rest to process. One
    naming another landlord refuses the whole request."""
    rejected: dict[int, AlertResult] = {}
    subs: list[AlertSubmission] = []
    for index, raw in enumerate(alerts):
        try:
            alert = ArrearsAlert.model_validate(raw)
        except ValidationError as exc:
            reason = validation_reason(exc, f"{index}.")
            rejected[index] = _rejected(index, _reference(raw), reason)
            continue
        try:
            subs.append(submission_for(alert, organisation, position=index))
        except ForeignTenancy as exc:
            raise _refuse(exc, f"{index}.") from exc
    return rejected, subs


def _parsed_csv(content: bytes) -> CsvFile:
    if len(content) > MAX_CSV_BYTES:
        raise HTTPException(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            f"file: larger than {MAX_CSV_BYTES // (1024 * 1024)} MiB",
        )
    try:
        return read_csv(content)
    except CsvFileError as exc:
        raise HTTPException(422, str(exc)) from exc


def _csv_submissions(
    parsed: CsvFile, organisation: str
) -> tuple[list[AlertResult], list[AlertSubmission]]:
    """A CSV file's rows: the bad ones (invalid, or naming another landlord) rejected by line,
    the rest to process; unlike a JSON batch, a foreign row does not refuse the file."""
    rejected: list[AlertResult] = []
    subs: list[AlertSubmission] = []
    for row in parsed.rows:
        if row.alert is None:
            rejected.append(_rejected(row.line, row.tenancy_reference, row.error))
            continue
        try:
            subs.append(submission_for(row.alert, organisation, position=row.line))
        except ForeignTenancy as exc:
            rejected.append(_rejected(row.line, row.tenancy_reference, str(exc)))
    return rejected, subs


async def _process_in_chunks(
    store: ArrearsStore,
    pipeline: AlertPipeline,
    clock: Clock,
    batch_id: str,
    subs: list[AlertSubmission],
    parsed: CsvFile,
    rejected: list[AlertResult],
) -> list[AlertResult]:
    """Decide and write the rows a chunk at a time, each chunk counted into the batch's
    progress. If processing stops, the batch is marked failed and the caller is told to upload
    the file again (503)."""
    processed: list[AlertResult] = []
    try:
        for start in range(0, len(subs), CSV_CHUNK):
            chunk = await _conflict_is_409(pipeline.process(subs[start : start + CSV_CHUNK]))
            await store.add_to_batch(batch_id, views.counts(chunk))
            processed.extend(chunk)
    except Exception as exc:
        await store.finish_batch(batch_id, "failed", clock.now())
        done = len(rejected) + len(processed)
        raise _stopped(batch_id, done, len(parsed.rows)) from exc
    return processed


def _stopped(batch_id: str, done: int, total: int) -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        f"file: processing stopped after {done} of {total} rows "
        f"(batch {batch_id}); upload the file again — rows already recorded come back "
        "as duplicates",
    )


def _refuse(exc: ForeignTenancy, prefix: str = "") -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, f"{prefix}{exc}")


def _reference(raw: Any) -> str | None:
    value = raw.get("tenancy_reference") if isinstance(raw, dict) else None
    return value[:100] if isinstance(value, str) else None


def _rejected(position: int, reference: str | None, reason: str | None) -> AlertResult:
    return AlertResult(
        position=position, status=Outcome.REJECTED, tenancy_reference=reference, reason=reason
    )
