"""CSV uploads as background jobs the landlord follows (issue 16, "limits before work").

The request does bounded work only: the file arrives as a stream capped by the route's body
limit (shared/http.py), is copied to a temporary file while checked to be UTF-8, and is read
once without validation to judge its header and count its rows (a file that cannot be read is
refused at once, 422). Then a job is recorded in `arrears_batches` and the answer is 202 with
its id. The rows are read, validated and decided a chunk at a time in the background; each
chunk's counts and per-row results are written as it finishes (`arrears_upload_rows`, one
document per chunk), so `GET /arrears-alerts/uploads/{job_id}` shows progress while it runs
and every row's result (rejected ones with line and field) when it is done.

A restart never loses a job, only its temporary file: a job whose process stopped is marked
failed with the reason (at shutdown when the stop is orderly; otherwise once its heartbeat is
older than `LEASE`, when it is read or at the next start). Resuming would need the file kept
in the database; instead the landlord sends the file again, and the rows already recorded come
back as duplicates (an alert's identity is its content), so nothing happens twice.

Bounded: at most `MAX_RUNNING` jobs decide at once per process and `MAX_WAITING` wait (each
file at most the route's limit); more is a 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from fastapi import UploadFile

from services.referral.arrears import views
from services.referral.arrears.alert import AlertSubmission, ForeignTenancy, submission_for
from services.referral.arrears.csv_rows import CsvFileError, CsvReader, CsvRow
from services.referral.arrears.decision import Outcome
from services.referral.arrears.pipeline import AlertPipeline
from services.referral.arrears.planning import AlertResult
from shared.clock import Clock
from shared.ids import new_id
from shared.logging import get_logger
from shared.mongo import Document
from shared.redaction import safe_error, safe_reason
from shared.runtime import ServiceRuntime

JOBS = "arrears_batches"  # one document per upload: its progress, counts and rejected rows
ROWS = "arrears_upload_rows"  # one document per chunk: every row's result, in line order
CSV_CHUNK = 2_000  # rows read, decided and written together; progress moves per chunk
MAX_REJECTED_KEPT = 1_000  # rejected rows kept on the job document; the count stays exact
MAX_RUNNING = 2  # jobs deciding at once in one process
MAX_WAITING = 8  # jobs accepted and waiting their turn; more is a 503
LEASE = timedelta(seconds=60)  # a running job's heartbeat older than this: its process stopped
HEARTBEAT_SECONDS = 10.0
COPY_CHUNK = 256 * 1024
AGAIN = "upload the file again: rows already recorded come back as duplicates"
COUNT_KEYS = ("accepted", "unchanged", "duplicate", "rejected", "signalled", "referrals")

log = get_logger(__name__)


class UploadRefused(Exception):
    """The upload is refused before any row is processed; the message names the field."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Spooled:
    path: Path
    total_rows: int
    ignored_columns: list[str]


class UploadJobs:
    def __init__(self, runtime: ServiceRuntime, pipeline: AlertPipeline, clock: Clock) -> None:
        self.jobs = runtime.collection(JOBS)
        self.rows = runtime.collection(ROWS)
        self.pipeline = pipeline
        self.clock = clock
        self.tenancy_key = runtime.settings.tenancy_id_key.get_secret_value()
        self._running = asyncio.Semaphore(MAX_RUNNING)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        runtime.on_startup(self.recover)
        runtime.on_shutdown(self.stop)

    # --- the request -----------------------------------------------------------------------

    async def accept(self, organisation: str, upload: UploadFile) -> Document:
        """Spool and judge the file, record the job and start it; the job's document."""
        if len(self._tasks) >= MAX_RUNNING + MAX_WAITING:
            raise UploadRefused(503, "file: too many uploads in progress; try again", 30)
        spooled = await asyncio.to_thread(_spool, upload.file)
        job_id = new_id("batch")
        now = self.clock.now()
        document: Document = {
            "_id": job_id,
            "organisation": organisation,
            "filename": upload.filename,
            "status": "queued",
            "total_rows": spooled.total_rows,
            "rows_read": 0,
            "processed_rows": 0,
            "counts": {k: 0 for k in COUNT_KEYS},
            "ignored_columns": spooled.ignored_columns,
            "rejected_rows": [],
            "chunks": 0,
            "failure": None,
            "created_at": now,
            "finished_at": None,
            "heartbeat_at": datetime.now(UTC),  # real time: the business clock may jump
        }
        try:
            await self.jobs.insert_one(document)
        except BaseException:
            await asyncio.to_thread(spooled.path.unlink, missing_ok=True)
            raise
        task = asyncio.create_task(self._run(job_id, organisation, spooled.path, now.date()))
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))
        return document

    # --- reading a job ---------------------------------------------------------------------

    async def get(self, organisation: str, job_id: str) -> Document | None:
        """The caller's own job (another organisation's is not found). A running job whose
        process stopped is shown, and recorded, as failed."""
        document = await self.jobs.find_one({"_id": job_id, "organisation": organisation})
        if document is not None and _abandoned(document, datetime.now(UTC)):
            await self._fail(job_id, "the service stopped while processing the file")
            document = await self.jobs.find_one({"_id": job_id})
        return document

    async def rows_page(self, job_id: str, page: int) -> list[dict[str, Any]]:
        found = await self.rows.find_one({"_id": _chunk_id(job_id, page)})
        return list(found["rows"]) if found else []

    # --- lifecycle -------------------------------------------------------------------------

    async def recover(self) -> None:
        """At start: indexes, and jobs left running by a process that stopped marked failed."""
        await self.jobs.create_index([("organisation", 1), ("created_at", -1)])
        await self.rows.create_index([("job_id", 1)])
        stale = datetime.now(UTC) - LEASE
        async for document in self.jobs.find(
            {"status": {"$in": ["queued", "processing"]}, "heartbeat_at": {"$lt": stale}}
        ):
            await self._fail(document["_id"], "the service stopped while processing the file")

    async def stop(self) -> None:
        """An orderly stop: running jobs are cancelled and marked failed with the reason."""
        tasks = dict(self._tasks)
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        for job_id in tasks:
            await self._fail(job_id, "the service was stopped while processing the file")

    # --- the background work ---------------------------------------------------------------

    async def _run(self, job_id: str, organisation: str, path: Path, today: date) -> None:
        done = 0
        heartbeat = asyncio.create_task(self._beat(job_id))  # waiting its turn is alive too
        try:
            async with self._running:
                await self._set(job_id, {"status": "processing"})
                with path.open(encoding="utf-8-sig", newline="") as text:
                    rows = CsvReader(text, today=today).rows()
                    chunk_no = 0
                    while chunk := await asyncio.to_thread(_take, rows, CSV_CHUNK):
                        results = await self._decide(chunk, organisation)
                        await self._record(job_id, chunk_no, results)
                        done += len(chunk)
                        chunk_no += 1
            await self._set(
                job_id, {"status": "completed", "finished_at": self.clock.now()}, running=True
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("arrears.upload_failed", job_id=job_id, error=safe_error(exc))
            await self._fail(job_id, f"processing stopped after {done} rows ({safe_reason(exc)})")
        finally:
            heartbeat.cancel()
            await asyncio.to_thread(path.unlink, missing_ok=True)

    async def _decide(self, chunk: list[CsvRow], organisation: str) -> list[AlertResult]:
        rejected, subs = csv_submissions(chunk, organisation, self.tenancy_key)
        processed = await self.pipeline.process(subs)
        return sorted([*rejected, *processed], key=lambda r: r.position)

    async def _record(self, job_id: str, chunk_no: int, results: list[AlertResult]) -> None:
        """The chunk's rows, then its counts (a job read meanwhile never counts rows it cannot
        show)."""
        rows = [views.row_out(r).model_dump(mode="json", exclude_none=True) for r in results]
        await self.rows.replace_one(
            {"_id": _chunk_id(job_id, chunk_no)},
            {"job_id": job_id, "page": chunk_no, "rows": rows},
            upsert=True,
        )
        counts = views.counts(results)
        job = await self.jobs.find_one({"_id": job_id}, {"counts": 1})
        kept = min(job["counts"].get("rejected", 0) if job else 0, MAX_REJECTED_KEPT)
        rejected = [row for row in rows if row["status"] == Outcome.REJECTED.value]
        update: dict[str, Any] = {
            "$inc": {
                "rows_read": len(results),
                "processed_rows": len(results),
                "chunks": 1,
                **{f"counts.{k}": v for k, v in counts.items() if v},
            },
            "$set": {"heartbeat_at": datetime.now(UTC)},
        }
        if rejected[: MAX_REJECTED_KEPT - kept]:
            update["$push"] = {"rejected_rows": {"$each": rejected[: MAX_REJECTED_KEPT - kept]}}
        await self.jobs.update_one({"_id": job_id}, update)

    async def _beat(self, job_id: str) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            with contextlib.suppress(Exception):
                await self._set(job_id, {})

    async def _set(self, job_id: str, fields: dict[str, Any], running: bool = False) -> None:
        guard: dict[str, Any] = {"_id": job_id}
        if running:
            guard["status"] = "processing"  # a job already marked failed stays failed
        fields = {**fields, "heartbeat_at": datetime.now(UTC)}
        await self.jobs.update_one(guard, {"$set": fields})

    async def _fail(self, job_id: str, reason: str) -> None:
        try:
            await self.jobs.update_one(
                {"_id": job_id, "status": {"$in": ["queued", "processing"]}},
                {
                    "$set": {
                        "status": "failed",
                        "failure": f"file: {reason}; {AGAIN}",
                        "finished_at": self.clock.now(),
                    }
                },
            )
        except Exception as exc:  # the database is gone too: the lease tells the truth later
            log.error("arrears.upload_not_marked", job_id=job_id, error=safe_error(exc))


def csv_submissions(
    rows: list[CsvRow], organisation: str, tenancy_key: str
) -> tuple[list[AlertResult], list[AlertSubmission]]:
    """A CSV file's rows: the bad ones (invalid, or naming another landlord) rejected by line,
    the rest to process; unlike a JSON batch, a foreign row does not refuse the file."""
    rejected: list[AlertResult] = []
    subs: list[AlertSubmission] = []
    for row in rows:
        if row.alert is None:
            rejected.append(rejected_result(row.line, row.tenancy_reference, row.error))
            continue
        try:
            subs.append(submission_for(row.alert, organisation, key=tenancy_key, position=row.line))
        except ForeignTenancy as exc:
            rejected.append(rejected_result(row.line, row.tenancy_reference, str(exc)))
    return rejected, subs


def rejected_result(position: int, reference: str | None, reason: str | None) -> AlertResult:
    return AlertResult(
        position=position, status=Outcome.REJECTED, tenancy_reference=reference, reason=reason
    )


def _spool(source: IO[bytes]) -> _Spooled:
    """Copy the upload to a file of our own (the request's copy goes with the request),
    checking it is UTF-8 as it goes; then read it once to judge the header and count rows."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    handle, name = tempfile.mkstemp(prefix="hearth-upload-", suffix=".csv")
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as target:
            read = 0
            while block := source.read(COPY_CHUNK):
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    raise UploadRefused(
                        422, f"file: not UTF-8 text (byte {read + exc.start})"
                    ) from None
                read += len(block)
                target.write(block)
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise UploadRefused(422, "file: not UTF-8 text (it ends mid-character)") from None
        with path.open(encoding="utf-8-sig", newline="") as text:
            reader = CsvReader(text)
            total = sum(1 for _ in reader.rows(validate=False))
        if total == 0:
            raise UploadRefused(422, "file: no rows after the header")
        return _Spooled(path, total, reader.ignored_columns)
    except CsvFileError as exc:
        path.unlink(missing_ok=True)
        raise UploadRefused(422, str(exc)) from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _take(rows: Iterator[CsvRow], count: int) -> list[CsvRow]:
    chunk: list[CsvRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= count:
            break
    return chunk


def _chunk_id(job_id: str, chunk_no: int) -> str:
    return f"{job_id}:{chunk_no:06d}"


def _abandoned(document: Document, now: datetime) -> bool:
    beat = document.get("heartbeat_at")
    if document.get("status") not in ("queued", "processing") or beat is None:
        return False
    if beat.tzinfo is None:  # the database hands datetimes back naive, in UTC
        beat = beat.replace(tzinfo=UTC)
    return bool(now - beat > LEASE)
