"""HTTP for arrears alerts and risk rules. The landlord is always the caller's organisation.

Limits before work: each route's body is capped before it is read (shared/http.py), a JSON
batch holds at most `MAX_BATCH` alerts, and a CSV file (at most `MAX_CSV_BYTES`) is a
background job (`uploads.py`): 202 with its id, then progress and per-row results."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, File, HTTPException, Path, Query, Response, UploadFile, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from services.referral.arrears import views
from services.referral.arrears.alert import (
    AlertSubmission,
    ArrearsAlert,
    ForeignTenancy,
    submission_for,
)
from services.referral.arrears.batcher import AlertBatcher
from services.referral.arrears.handlers import validation_reason
from services.referral.arrears.pipeline import AlertPipeline, ConflictPersisted
from services.referral.arrears.planning import AlertResult
from services.referral.arrears.risk_rules import RiskRules
from services.referral.arrears.store import ArrearsStore
from services.referral.arrears.uploads import (
    CSV_CHUNK,
    UploadJobs,
    UploadRefused,
    rejected_result,
)
from services.referral.arrears.views import (
    AlertResultOut,
    BatchOut,
    BatchProgressOut,
    TenanciesOut,
    UploadAcceptedOut,
    UploadJobOut,
)
from shared.auth import CallerDep
from shared.clock import Clock
from shared.http import body_limit
from shared.ids import tenancy_id
from shared.validation import TODAY_CONTEXT, printable

MAX_BATCH = 10_000  # alerts per JSON batch; larger sets go as CSV
MAX_BATCH_BYTES = 4 * 1024 * 1024  # a full batch of plain alerts is about 2.5 MB
MAX_CSV_BYTES = 50 * 1024 * 1024
MAX_TENANCIES_PAGE = 500  # tenancies at risk per page of the list
ID_PATTERN = r"^[A-Za-z0-9._:-]{1,100}$"
UPLOADS = "/arrears-alerts/uploads"

T = TypeVar("T")


def build_router(
    store: ArrearsStore,
    pipeline: AlertPipeline,
    batcher: AlertBatcher,
    clock: Clock,
    uploads: UploadJobs,
    *,
    tenancy_key: str,
) -> APIRouter:
    """`tenancy_key`: the tenancy-id key (`HEARTH_TENANCY_ID_KEY`)."""
    router = APIRouter(tags=["arrears alerts"])
    # Added in this order, which is the order of the OpenAPI document.
    _alert_routes(router, pipeline, batcher, clock, tenancy_key)
    _csv_routes(router, uploads)
    _lookup_routes(router, store, uploads, tenancy_key)
    _rules_routes(router, store, clock)
    return router


def _alert_routes(
    router: APIRouter,
    pipeline: AlertPipeline,
    batcher: AlertBatcher,
    clock: Clock,
    tenancy_key: str,
) -> None:
    @router.post("/arrears-alerts", response_model=AlertResultOut, response_model_exclude_none=True)
    async def submit_alert(caller: CallerDep, alert: ArrearsAlert) -> AlertResultOut:
        """One alert (webhook). Repeats and same-or-lower levels change nothing."""
        try:
            sub = submission_for(alert, caller.organisation, key=tenancy_key)
        except ForeignTenancy as exc:
            raise _refuse(exc) from exc
        return views.result_out(await _conflict_is_409(batcher.submit(sub)), "index")

    @router.post(
        "/arrears-alerts/batch",
        response_model=BatchOut,
        response_model_exclude_none=True,
        openapi_extra=body_limit(MAX_BATCH_BYTES),
    )
    async def submit_batch(
        caller: CallerDep,
        alerts: Annotated[
            list[dict[str, Any]],
            Body(
                min_length=1,
                max_length=MAX_BATCH,
                description=f"a list of at most {MAX_BATCH:,} alerts, each as POST "
                "/arrears-alerts takes; more go as a CSV file",
            ),
        ],
    ) -> BatchOut:
        """Many alerts; each gets its own result, and a bad one does not stop the rest: it is
        rejected with its index and field, the good ones are kept. An alert naming another
        landlord refuses the whole request (403)."""
        results, subs = _batch_submissions(alerts, caller.organisation, clock, tenancy_key)
        for result in await _conflict_is_409(pipeline.process(subs)):
            results[result.position] = result
        ordered = [results[i] for i in sorted(results)]
        return BatchOut(
            counts=views.counts(ordered), results=[views.result_out(r, "index") for r in ordered]
        )


def _csv_routes(router: APIRouter, uploads: UploadJobs) -> None:
    @router.post(
        "/arrears-alerts/csv",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=UploadAcceptedOut,
        responses={
            422: {"description": "the file cannot be read: not UTF-8, no header, a column missing"},
            503: {"description": "too many uploads in progress; see Retry-After"},
        },
        openapi_extra=body_limit(MAX_CSV_BYTES),
    )
    async def upload_csv(
        caller: CallerDep,
        response: Response,
        file: Annotated[UploadFile, File(description="CSV, header row of field names")],
    ) -> UploadAcceptedOut | JSONResponse:
        """A nightly batch, decided in the background: the answer (202) carries the job id and
        its address (`Location`). Good rows are accepted even when others are bad; each row is
        reported with its line, and a rejected one with the column it names."""
        try:
            job = await uploads.accept(caller.organisation, file)
        except UploadRefused as exc:
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
            raise HTTPException(exc.status, str(exc), headers=headers) from exc
        response.headers["Location"] = f"/v1{UPLOADS}/{job['_id']}"
        return UploadAcceptedOut(
            job_id=job["_id"],
            status=job["status"],
            filename=job.get("filename"),
            total_rows=job["total_rows"],
            ignored_columns=job["ignored_columns"],
        )


def _lookup_routes(
    router: APIRouter, store: ArrearsStore, uploads: UploadJobs, tenancy_key: str
) -> None:
    @router.get(
        UPLOADS + "/{job_id}",
        response_model=UploadJobOut,
        response_model_exclude_none=True,
        responses={404: {"description": "no such upload for your organisation"}},
    )
    async def upload_job(
        caller: CallerDep,
        job_id: Annotated[str, Path(pattern=ID_PATTERN)],
        page: Annotated[int, Query(ge=0, description=f"rows in pages of {CSV_CHUNK:,}")] = 0,
    ) -> UploadJobOut:
        """An upload's progress (rows read; accepted, unchanged, rejected), its rejected rows
        with line and field, and every row's result, a page at a time."""
        document = await uploads.get(caller.organisation, job_id)
        if document is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "job_id: no such upload")
        return views.upload_job(document, page, await uploads.rows_page(job_id, page))

    @router.get(
        "/arrears-alerts/batches/{batch_id}",
        response_model=BatchProgressOut,
        responses={404: {"description": "no such batch for your organisation"}},
    )
    async def batch_progress(
        caller: CallerDep, batch_id: Annotated[str, Path(pattern=ID_PATTERN)]
    ) -> BatchProgressOut:
        """An upload's progress in the earlier shape; the same job as .../uploads/{job_id}."""
        document = await uploads.get(caller.organisation, batch_id)
        if document is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "batch_id: no such batch")
        return views.batch_progress(document)

    @router.get("/arrears-alerts/tenancies", response_model=TenanciesOut)
    async def tenancies_at_risk(
        caller: CallerDep,
        limit: Annotated[int, Query(ge=1, le=MAX_TENANCIES_PAGE)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> TenanciesOut:
        """Your tenancies that have had an alert, the latest first: the level, the balance and
        weeks in arrears of the last alert, and your cases it caused (referral raised, case
        open, closed). Tenancies are named by keyed id, so a page never needs a reference in
        its address."""
        total, documents = await store.tenancies_of(caller.organisation, limit, offset)
        return TenanciesOut(
            total=total,
            offset=offset,
            tenancies=[views.tenancy_at_risk(d, caller.organisation) for d in documents],
        )

    @router.get(
        "/arrears-alerts/tenancies/{tenancy_reference}",
        responses={404: {"description": "no alert received for this tenancy"}},
    )
    async def tenancy_risk(
        caller: CallerDep,
        tenancy_reference: Annotated[str, Path(min_length=1, max_length=100)],
    ) -> dict[str, Any]:
        """The tenancy's risk episode and the cases the service knows for it."""
        tid = tenancy_id(caller.organisation, tenancy_reference, key=tenancy_key)
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
    alerts: list[dict[str, Any]], organisation: str, clock: Clock, tenancy_key: str
) -> tuple[dict[int, AlertResult], list[AlertSubmission]]:
    """A JSON batch's alerts: the invalid ones rejected by index, the rest to process. One
    naming another landlord refuses the whole request. Dates are judged against the
    service's own date (shared/validation.py)."""
    context = {TODAY_CONTEXT: clock.now().date()}
    rejected: dict[int, AlertResult] = {}
    subs: list[AlertSubmission] = []
    for index, raw in enumerate(alerts):
        try:
            alert = ArrearsAlert.model_validate(raw, context=context)
        except ValidationError as exc:
            reason = validation_reason(exc, f"{index}.")
            rejected[index] = rejected_result(index, _reference(raw), reason)
            continue
        try:
            subs.append(submission_for(alert, organisation, key=tenancy_key, position=index))
        except ForeignTenancy as exc:
            raise _refuse(exc, f"{index}.") from exc
    return rejected, subs


def _refuse(exc: ForeignTenancy, prefix: str = "") -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, f"{prefix}{exc}")


def _reference(raw: Any) -> str | None:
    """The reference a rejected alert gave, as far as it can be shown (a lone surrogate is
    shown escaped: the answer must encode)."""
    value = raw.get("tenancy_reference") if isinstance(raw, dict) else None
    return printable(value[:100]) if isinstance(value, str) else None
