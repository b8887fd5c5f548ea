"""What a landlord is told about its alerts: the HTTP response shapes and the functions turning
alert results and stored batches into them."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from services.referral.arrears.decision import CaseStatus, Outcome
from services.referral.arrears.planning import AlertResult
from services.referral.arrears.store import OUTCOME_COUNTS


class AlertResultOut(BaseModel):
    status: Outcome = Field(
        description="accepted (risk changed: rise signalled or arrears cleared), unchanged "
        "(nothing new, or older than the alert that last changed the tenancy; not written), "
        "duplicate (already received), rejected"
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
    field: str | None = Field(None, description="the field (or CSV column) a rejection names")
    reason: str | None = Field(
        None,
        description="why rejected, naming the field or column; or why an alert changed "
        "nothing (stale: older than the alert that last changed the tenancy)",
    )


class BatchOut(BaseModel):
    counts: dict[str, int]
    results: list[AlertResultOut]


class UploadAcceptedOut(BaseModel):
    job_id: str = Field(description="follow it at GET /v1/arrears-alerts/uploads/{job_id}")
    status: str = Field(description="queued: the rows are decided in the background")
    filename: str | None = None
    total_rows: int = Field(description="rows in the file (blank lines not counted)")
    ignored_columns: list[str] = Field(default=[], description="columns that are not fields")


class UploadJobOut(BaseModel):
    job_id: str
    status: str = Field(description="queued, processing, completed or failed")
    filename: str | None = None
    total_rows: int
    rows_read: int = Field(description="rows read and decided so far")
    counts: dict[str, int] = Field(
        description="accepted, unchanged, duplicate, rejected; signalled and referrals raised"
    )
    ignored_columns: list[str] = []
    failure: str | None = Field(None, description="why a failed job stopped, and what to do")
    rejected_rows: list[AlertResultOut] = Field(
        description="rejected rows with line and field (the first 1,000; counts stay exact)"
    )
    page: int = Field(description="which page of `rows` this is (pages of 2,000 rows)")
    pages: int = Field(description="pages of per-row results written so far")
    rows: list[AlertResultOut] = Field(description="every row's result, in line order")


class BatchProgressOut(BaseModel):
    batch_id: str
    status: str = Field(description="processing, completed or failed")
    filename: str | None = None
    total_rows: int
    processed_rows: int
    counts: dict[str, int]
    rejected_rows: list[dict[str, Any]]


def result_out(result: AlertResult, where: str) -> AlertResultOut:
    """`where` names the result's position: "index" in a JSON batch, "line" in a CSV file."""
    body = result.as_dict()
    body[where] = body.pop("position", result.position)
    if result.status is Outcome.REJECTED and result.reason and ": " in result.reason:
        body["field"] = rejected_field(result.reason)  # a stale alert's reason names no field
    return AlertResultOut.model_validate(body)


def rejected_field(reason: str) -> str:
    """The field a reason names ("3.eviction_date: ..." in a batch names eviction_date)."""
    named = reason.split(": ", 1)[0]
    index, dot, rest = named.partition(".")
    return rest if dot and index.isdigit() else named


def upload_job(document: dict[str, Any], page: int, rows: list[dict[str, Any]]) -> UploadJobOut:
    return UploadJobOut(
        job_id=document["_id"],
        status=document["status"],
        filename=document.get("filename"),
        total_rows=document.get("total_rows", 0),
        rows_read=document.get("rows_read", 0),
        counts=document.get("counts") or {},
        ignored_columns=document.get("ignored_columns") or [],
        failure=document.get("failure"),
        rejected_rows=[AlertResultOut.model_validate(r) for r in document.get("rejected_rows", [])],
        page=page,
        pages=document.get("chunks", 0),
        rows=[AlertResultOut.model_validate(r) for r in rows],
    )


def row_out(result: AlertResult) -> AlertResultOut:
    """A CSV row's result, without the per-alert detail a whole file would repeat."""
    out = result_out(result, "line")
    return out.model_copy(update={"reasons": [], "alert_id": None, "tenancy_id": None})


def counts(results: list[AlertResult]) -> dict[str, int]:
    tally = Counter(r.status.value for r in results)
    counted = {k: tally.get(k, 0) for k in OUTCOME_COUNTS}
    counted["signalled"] = sum(r.signalled for r in results)
    counted["referrals"] = sum(r.prevention_case_id is not None for r in results)
    return counted


def batch_progress(document: dict[str, Any]) -> BatchProgressOut:
    keys = ("status", "filename", "total_rows", "processed_rows", "counts", "rejected_rows")
    fields: dict[str, Any] = {k: document.get(k) for k in keys}
    return BatchProgressOut(batch_id=document["_id"], **fields)


def tenancy_risk(tenancy_id: str, document: dict[str, Any], organisation: str) -> dict[str, Any]:
    """The tenancy's risk episode and the landlord's own cases for it, open or still pending.
    Another organisation's case on the tenancy is that organisation's to tell (a referral-status
    agreement), so it is not listed here."""
    cases = [
        c for c in (document.get("cases") or {}).values() if c.get("organisation") == organisation
    ]
    return {
        "tenancy_id": tenancy_id,
        "tenancy_reference": document.get("tenancy_reference"),
        "episode": document.get("episode", 0),
        "signalled_level": document.get("signalled_level"),
        "last_alert": document.get("last_alert"),
        "open_cases": [c["case_id"] for c in cases if c["status"] == CaseStatus.OPEN],
        "pending_cases": [c["case_id"] for c in cases if c["status"] == CaseStatus.PENDING],
    }


class TenancyCaseOut(BaseModel):
    case_id: str
    status: CaseStatus = Field(description="pending (referral raised), open (allocated), closed")
    prevention_referral: bool = Field(description="raised by an alert of this tenancy")
    at: datetime | None = None


class LastAlertOut(BaseModel):
    risk_level: str | None = Field(None, description="None: the arrears were cleared")
    reasons: list[str] = []
    arrears_balance: float | None = None
    weeks_in_arrears: float | None = None
    legal_stage: str | None = None
    received_at: datetime | None = None


class TenancyAtRiskOut(BaseModel):
    tenancy_id: str = Field(description="the keyed tenancy id (no personal data)")
    tenancy_reference: str | None = Field(None, description="the landlord's own reference")
    signalled_level: str | None = Field(None, description="highest level signalled this episode")
    episode: int = 0
    last_alert: LastAlertOut
    cases: list[TenancyCaseOut] = Field(description="the landlord's own cases for the tenancy")


class TenanciesOut(BaseModel):
    total: int = Field(description="tenancies of yours with at least one alert")
    offset: int
    tenancies: list[TenancyAtRiskOut]


def tenancy_at_risk(document: dict[str, Any], organisation: str) -> TenancyAtRiskOut:
    """One tenancy of the list: as `tenancy_risk`, the landlord's own cases only."""
    cases = [
        TenancyCaseOut(
            case_id=c["case_id"],
            status=c["status"],
            prevention_referral=str(c["case_id"]).startswith("prev-"),
            at=c.get("at"),
        )
        for c in (document.get("cases") or {}).values()
        if c.get("organisation") in (None, organisation)
    ]
    return TenancyAtRiskOut(
        tenancy_id=document["_id"],
        tenancy_reference=document.get("tenancy_reference"),
        signalled_level=document.get("signalled_level"),
        episode=document.get("episode", 0),
        last_alert=LastAlertOut.model_validate(document.get("last_alert") or {}),
        cases=sorted(cases, key=lambda c: (c.at is None, c.at or datetime.min)),
    )
