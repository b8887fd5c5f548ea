"""Issue 16, part 5: request bodies are capped before they are read, CSV uploads are jobs
decided in the background, and batches are bounded; on the real broker and database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.referral.api import MAX_SUBMISSION_BYTES
from services.referral.arrears import api as arrears_api
from services.referral.arrears.api import MAX_BATCH
from shared.clock import ManualClock
from shared.http import BODY_LIMIT_EXTENSION, DEFAULT_MAX_BODY_BYTES
from tests.referral.arrears.harness import DERBY as LANDLORD
from tests.referral.arrears.harness import LEEDS as OTHER
from tests.referral.arrears.harness import csv_file, finished_upload, running
from tests.referral.service import DERBY, running_referral

pytestmark = pytest.mark.integration


async def test_a_referral_body_over_the_cap_is_refused_before_it_is_read(make_settings) -> None:
    async with running_referral(make_settings("referral"), ManualClock()) as (_rt, client):
        headers = {**DERBY, "Content-Type": "application/json"}
        # Not even JSON: under the cap that is a parse error (422); over it, never parsed (413).
        broken = b"{" + b" " * 1_000
        small = await client.post("/v1/referrals", content=broken, headers=headers)
        assert small.status_code == 422, small.text
        huge = b"{" + b" " * (MAX_SUBMISSION_BYTES + 1)
        answer = await client.post("/v1/referrals", content=huge, headers=headers)
        assert answer.status_code == 413, answer.text
        assert answer.json()["errors"][0]["field"] == "body"
        assert f"{MAX_SUBMISSION_BYTES} bytes" in answer.json()["detail"]

        # Streamed without a Content-Length: counted as it arrives, refused at the cap.
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(40):
                yield b" " * 10_000

        streamed = await client.post("/v1/referrals", content=chunks(), headers=headers)
        assert streamed.status_code == 413, streamed.text

        # Every other route has the default cap.
        rules = await client.put(
            "/v1/risk-rules", content=b" " * (DEFAULT_MAX_BODY_BYTES + 1), headers=headers
        )
        assert rules.status_code == 413

        # The limits are stated in the OpenAPI document, route by route.
        schema = (await client.get("/openapi.json")).json()
        referral = schema["paths"]["/v1/referrals"]["post"]
        assert referral[BODY_LIMIT_EXTENSION] == MAX_SUBMISSION_BYTES
        assert "refused with 413 before they are read" in referral["description"]
        upload = schema["paths"]["/v1/arrears-alerts/csv"]["post"]
        assert upload[BODY_LIMIT_EXTENSION] == arrears_api.MAX_CSV_BYTES
        put_rules = schema["paths"]["/v1/risk-rules"]["put"]
        assert put_rules[BODY_LIMIT_EXTENSION] == DEFAULT_MAX_BODY_BYTES


async def test_a_csv_over_the_cap_is_refused_and_nothing_is_processed(
    make_settings, monkeypatch
) -> None:
    monkeypatch.setattr(arrears_api, "MAX_CSV_BYTES", 64 * 1024)  # read when routes are built
    settings = make_settings("referral")
    rows = "".join(f"T-{i:06d},900,100,9\n" for i in range(8_000))  # ~160 KB
    text = "tenancy_reference,arrears_balance,weekly_rent,weeks_in_arrears\n" + rows
    async with running(settings) as svc:
        answer = await svc.client.post(
            "/v1/arrears-alerts/csv", headers=LANDLORD, files=csv_file(text)
        )
        assert answer.status_code == 413, answer.text
        assert "65536 bytes" in answer.json()["detail"]
        db = svc.runtime.db
        assert await db["arrears_batches"].count_documents({}) == 0
        assert await db["tenancy_risk"].count_documents({}) == 0


async def test_a_csv_upload_is_a_job_with_progress_and_per_row_results(make_settings) -> None:
    settings = make_settings("referral")
    text = (
        "tenancy_reference,balance,weekly_rent,weeks_in_arrears,eviction_date,reported_on\n"
        "U-1,900,100,9,,\n"
        "U-2,true,100,9,,\n"
        "\n"
        "U-3,900,100,9,0001-01-01,\n"
        "U-4,-10000000,100,9,,\n"
        "U-5,300,100,3,,9999-12-31\n"
        "U-6,50,100,0.5,,\n"
    )
    async with running(settings) as svc:
        accepted = await svc.client.post(
            "/v1/arrears-alerts/csv", headers=LANDLORD, files=csv_file(text, "nightly.csv")
        )
        assert accepted.status_code == 202, accepted.text
        body = accepted.json()
        job_id = body["job_id"]
        assert body["total_rows"] == 6 and body["status"] == "queued"
        assert accepted.headers["location"] == f"/v1/arrears-alerts/uploads/{job_id}"

        job = await finished_upload(svc.client, job_id, LANDLORD)
        assert job["status"] == "completed", job
        assert job["filename"] == "nightly.csv" and job["rows_read"] == 6
        assert job["counts"]["accepted"] == 1 and job["counts"]["unchanged"] == 1
        assert job["counts"]["rejected"] == 4
        rejected = {r["line"]: r["field"] for r in job["rejected_rows"]}
        assert rejected == {3: "balance", 5: "eviction_date", 6: "balance", 7: "reported_on"}
        assert [r["line"] for r in job["rows"]] == [2, 3, 5, 6, 7, 8]
        assert job["rows"][0]["status"] == "accepted" and job["rows"][0]["signalled"]

        # Another organisation does not know of the job.
        hidden = await svc.client.get(f"/v1/arrears-alerts/uploads/{job_id}", headers=OTHER)
        assert hidden.status_code == 404

        # A file that cannot be read is refused at once; no job is made.
        missing = await svc.client.post(
            "/v1/arrears-alerts/csv", headers=LANDLORD, files=csv_file("tenancy_reference\nA\n")
        )
        assert missing.status_code == 422 and "arrears_balance" in missing.json()["detail"]
        latin = await svc.client.post(
            "/v1/arrears-alerts/csv",
            headers=LANDLORD,
            files={"file": ("x.csv", "tenancy_reference,balance\nCaf\xe9,1\n".encode("latin-1"))},
        )
        assert latin.status_code == 422 and "UTF-8" in latin.json()["detail"]
        assert await svc.runtime.db["arrears_batches"].count_documents({}) == 1


async def test_a_job_whose_process_stopped_is_failed_with_the_reason(make_settings) -> None:
    settings = make_settings("referral")
    async with running(settings) as svc:
        jobs = svc.runtime.db["arrears_batches"]
        await jobs.insert_one(
            {
                "_id": "batch-orphan",
                "organisation": "derby-homes",
                "status": "processing",
                "total_rows": 10,
                "rows_read": 4,
                "processed_rows": 4,
                "counts": {},
                "rejected_rows": [],
                "chunks": 1,
                "heartbeat_at": svc.clock.now().replace(year=2025),
            }
        )
        answer = await svc.client.get("/v1/arrears-alerts/uploads/batch-orphan", headers=LANDLORD)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "failed"
        assert "upload the file again" in answer.json()["failure"]


async def test_a_batch_over_its_size_is_refused_naming_the_limit(make_settings) -> None:
    settings = make_settings("referral")
    async with running(settings) as svc:
        alerts = [{"tenancy_reference": f"B{i}", "arrears_balance": 1} for i in range(MAX_BATCH)]
        alerts.append({"tenancy_reference": "one too many", "arrears_balance": 1})
        answer = await svc.client.post("/v1/arrears-alerts/batch", json=alerts, headers=LANDLORD)
        assert answer.status_code == 422, answer.text
        assert str(MAX_BATCH) in answer.json()["detail"]
        assert await svc.runtime.db["tenancy_risk"].count_documents({}) == 0
