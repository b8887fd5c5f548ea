"""Arrears alerts over HTTP and CSV against the real broker and database."""

from __future__ import annotations

import asyncio
import time

import pytest

from services.referral.arrears.decision import prevention_referral_id
from shared.agreements import Purpose
from shared.codes import RiskLevel, Route
from shared.events.case_events import CaseAllocated, CaseClosed
from shared.events.envelope import make_event
from shared.topics import Topic, topic_name
from tests.helpers import publish, wait_for
from tests.referral.arrears.harness import (
    DERBY,
    LEEDS,
    csv_file,
    data_of,
    grant,
    headers_of,
    of_type,
    running,
    upload_csv,
)
from tests.tenancies import tenancy_of

pytestmark = pytest.mark.integration

HEADER = "tenancy_reference,arrears_balance,weekly_rent,weeks_in_arrears,legal_stage,asb_issues\n"
LEVEL_ROWS = {
    0: "{ref},50,100,0.5,none,no",  # low: recorded, not signalled
    1: "{ref},500,100,5,none,no",  # medium
    2: "{ref},300,100,3,notice_served,no",  # high
    3: "{ref},700,100,7,possession_order,no",  # critical
}


def big_file() -> tuple[str, int, int]:
    """10,000 rows: 8,000 tenancies at four levels, then 1,000 exact duplicates, 500 lower
    repeats (critical -> medium) and 500 rises (medium -> critical)."""
    rows = [LEVEL_ROWS[i % 4].format(ref=f"T{i:05d}") for i in range(8000)]
    rows += [rows[i * 8 + (i % 4)] for i in range(1000)]
    criticals = [i for i in range(8000) if i % 4 == 3][:500]
    mediums = [i for i in range(8000) if i % 4 == 1][:500]
    rows += [LEVEL_ROWS[1].format(ref=f"T{i:05d}").replace(",5,", ",6,") for i in criticals]
    rows += [LEVEL_ROWS[3].format(ref=f"T{i:05d}") for i in mediums]
    assert len(rows) == 10_000
    signals = 6000 + 500
    referrals = 6000
    return HEADER + "\n".join(rows) + "\n", signals, referrals


async def test_ten_thousand_row_csv_signals_once_and_a_second_upload_adds_nothing(
    make_settings, topic_reader
) -> None:
    settings = make_settings("referral")
    text, signals, referrals = big_file()
    async with running(settings) as svc:
        risk = await topic_reader(topic_name(Topic.TENANCY_RISK, settings.topic_prefix))
        intake = await topic_reader(topic_name(Topic.REFERRAL_INTAKE, settings.topic_prefix))
        started = time.perf_counter()
        report = await upload_csv(svc.client, text, DERBY)
        elapsed = time.perf_counter() - started
        assert report["status"] == "completed", report
        assert report["counts"] == {
            "accepted": 6500,
            "unchanged": 2500,
            "duplicate": 1000,
            "rejected": 0,
            "signalled": signals,
            "referrals": referrals,
        }, elapsed
        assert len(report["rows"]) == 10_000 and report["rows"][0]["line"] == 2

        await risk.read_until(lambda r: len(r) >= signals, timeout=60)
        await intake.read_until(lambda r: len(r) >= referrals, timeout=60)

        again = await upload_csv(svc.client, text, DERBY)
        assert again["counts"]["duplicate"] == 10_000

        await risk.settle(1.5)
        await intake.settle(0.5)
        at_risk = of_type(risk.records, "TenancyAtRisk")
        # At least once on the wire (a relay sweep may republish), exactly once by event id.
        assert len({headers_of(r)["ce_id"] for r in at_risk}) == signals
        submitted = of_type(intake.records, "ReferralSubmitted")
        assert len({headers_of(r)["ce_id"] for r in submitted}) == referrals
        unique = {headers_of(r)["ce_id"]: data_of(r) for r in at_risk}.values()
        rises = [d for d in unique if d["risk_level"] == "critical"]
        assert sum(1 for d in rises if d["prevention_case_id"] is None) == 500

        progress = await svc.client.get(
            f"/v1/arrears-alerts/batches/{report['job_id']}", headers=DERBY
        )
        assert progress.json()["status"] == "completed"
        assert progress.json()["processed_rows"] == 10_000
        print(f"10,000-row CSV decided, written and published in {elapsed:.2f}s")


async def test_bad_rows_are_reported_and_good_rows_accepted(make_settings, topic_reader) -> None:
    settings = make_settings("referral")
    text = (
        "tenancy_reference,balance,weekly_rent,eviction_date,landlord\n"
        "A-1,900,100,,\n"
        "A-2,lots,100,,\n"
        "A-3,900,100,2026-13-01,\n"
        "A-4,900,100,,leeds-council\n"
        "A-5,200,100,20/02/2026,derby-homes\n"
    )
    async with running(settings) as svc:
        body = await upload_csv(svc.client, text, DERBY)
        rows = {row["line"]: row for row in body["rows"]}
        assert rows[2]["status"] == "accepted" and rows[2]["signalled"]
        assert rows[3]["status"] == "rejected" and rows[3]["reason"].startswith("balance:")
        assert rows[3]["field"] == "balance"
        assert rows[4]["status"] == "rejected" and rows[4]["reason"].startswith("eviction_date:")
        assert rows[5]["status"] == "rejected" and rows[5]["reason"].startswith("landlord:")
        assert rows[6]["status"] == "accepted" and rows[6]["risk_level"] == "critical"
        assert body["counts"]["accepted"] == 2 and body["counts"]["rejected"] == 3

        progress = await svc.client.get(
            f"/v1/arrears-alerts/batches/{body['job_id']}", headers=DERBY
        )
        assert progress.status_code == 200
        summary = progress.json()
        assert summary["counts"]["accepted"] == 2 and summary["counts"]["rejected"] == 3
        assert [r["line"] for r in summary["rejected_rows"]] == [3, 4, 5]
        # Another organisation cannot see the batch.
        hidden = await svc.client.get(f"/v1/arrears-alerts/batches/{body['job_id']}", headers=LEEDS)
        assert hidden.status_code == 404

        missing = await svc.client.post(
            "/v1/arrears-alerts/csv", headers=DERBY, files=csv_file("tenancy_reference\nA\n")
        )
        assert missing.status_code == 422 and "arrears_balance" in missing.json()["detail"]


async def test_another_organisations_tenancy_is_refused(make_settings, topic_reader) -> None:
    settings = make_settings("referral")
    async with running(settings) as svc:
        alert = {"tenancy_reference": "L-1", "arrears_balance": 2000, "landlord": "leeds-council"}
        single = await svc.client.post("/v1/arrears-alerts", headers=DERBY, json=alert)
        assert single.status_code == 403 and single.json()["detail"].startswith("landlord:")
        own = {"tenancy_reference": "L-1", "arrears_balance": 2000}
        batch = await svc.client.post("/v1/arrears-alerts/batch", headers=DERBY, json=[own, alert])
        assert batch.status_code == 403 and batch.json()["detail"].startswith("1.landlord:")
        # Nothing of the refused batch was recorded.
        assert await svc.runtime.db["tenancy_risk"].count_documents({}) == 0
        # The same reference under the caller's own key is the caller's own tenancy.
        leeds = await svc.client.post("/v1/arrears-alerts", headers=LEEDS, json=alert)
        assert leeds.status_code == 200
        assert leeds.json()["tenancy_id"] == tenancy_of("leeds-council", "L-1")
        unknown = await svc.client.post(
            "/v1/arrears-alerts", headers={"Authorization": "Bearer nope"}, json=own
        )
        assert unknown.status_code == 401
        seen_by_derby = await svc.client.get("/v1/arrears-alerts/tenancies/L-1", headers=DERBY)
        assert seen_by_derby.status_code == 404


async def test_open_case_gets_tenancy_at_risk_with_case_id_and_no_referral(
    make_settings, topic_reader
) -> None:
    settings = make_settings("referral")
    tenancy = tenancy_of("derby-homes", "OPEN-1")
    allocated = make_event(
        CaseAllocated(
            case_id="case-77",
            person_id="p-1",
            route=Route.SUPPORT,
            lead_worker_id="w-1",
            team_id="team-1",
            team_leader_id="tl-1",
            target_hours_per_week=2,
            allocated_at="2026-01-02T10:00:00Z",
            tenancy_id=tenancy,
        ),
        source="tests",
        organisation="derby-homes",
    )
    async with running(settings) as svc:
        risk = await topic_reader(topic_name(Topic.TENANCY_RISK, settings.topic_prefix))
        intake = await topic_reader(topic_name(Topic.REFERRAL_INTAKE, settings.topic_prefix))
        await publish(settings, allocated, allocated)  # redelivered: still one open case

        async def case_open() -> bool:
            doc = await svc.runtime.db["tenancy_risk"].find_one({"_id": tenancy})
            return bool(doc and any(c["status"] == "open" for c in doc["cases"].values()))

        await wait_for(case_open)
        alert = {"tenancy_reference": "open-1", "arrears_balance": 950, "weekly_rent": 100}
        response = await svc.client.post("/v1/arrears-alerts", headers=DERBY, json=alert)
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["signalled"] and result["case_id"] == "case-77"
        assert "prevention_case_id" not in result
        records = await risk.read_until(lambda r: len(r) >= 1)
        assert data_of(records[0])["case_id"] == "case-77"
        assert records[0].key == tenancy.encode()
        assert headers_of(records[0])["ce_organisation"] == "derby-homes"

        # The case closes; a rise then raises a prevention referral.
        closed = make_event(
            CaseClosed(
                case_id="case-77",
                person_id="p-1",
                route=Route.SUPPORT,
                reason="disengaged",
                closed_at="2026-01-03T10:00:00Z",
                tenancy_id=tenancy,
            ),
            source="tests",
            organisation="derby-homes",
        )
        await publish(settings, closed)

        async def case_closed() -> bool:
            doc = await svc.runtime.db["tenancy_risk"].find_one({"_id": tenancy})
            return all(c["status"] == "closed" for c in doc["cases"].values())

        await wait_for(case_closed)
        rise = {**alert, "legal_stage": "possession_order"}
        raised = (await svc.client.post("/v1/arrears-alerts", headers=DERBY, json=rise)).json()
        assert raised["signalled"] and "case_id" not in raised
        assert raised["prevention_case_id"] == prevention_referral_id(
            tenancy, 0, RiskLevel.CRITICAL
        )
        await intake.read_until(lambda r: len(r) >= 1)
        await intake.settle(0.5)
        assert len(intake.records) == 1
        referral = data_of(intake.records[0])
        assert referral["referral_id"] == raised["prevention_case_id"]
        assert referral["submission"]["automatic"] is True
        assert referral["submission"]["urgency"]["risk_level"] == "critical"


async def test_rules_per_organisation_and_prevention_organisation(
    make_settings, topic_reader
) -> None:
    settings = make_settings("referral")
    async with running(settings) as svc:
        defaults = await svc.client.get("/v1/risk-rules", headers=DERBY)
        assert defaults.status_code == 200 and defaults.json()["weeks_high"] == 8
        bad = await svc.client.put(
            "/v1/risk-rules", headers=DERBY, json={"weeks_medium": 9, "weeks_high": 8}
        )
        assert bad.status_code == 422 and "weeks_high" in bad.json()["detail"]
        put = await svc.client.put(
            "/v1/risk-rules",
            headers=DERBY,
            json={"weeks_medium": 2, "prevention_organisation": "south-norfolk"},
        )
        assert put.status_code == 200
        assert (await svc.client.get("/v1/risk-rules", headers=LEEDS)).json()["weeks_medium"] == 4
        # Referrals into another organisation need a live agreement (issue 15).
        await grant(svc, "derby-homes", "south-norfolk", Purpose.ARREARS_PREVENTION)

        intake = await topic_reader(topic_name(Topic.REFERRAL_INTAKE, settings.topic_prefix))
        alert = {"tenancy_reference": "R-1", "arrears_balance": 100, "weeks_in_arrears": 2}
        derby = (await svc.client.post("/v1/arrears-alerts", headers=DERBY, json=alert)).json()
        leeds = (await svc.client.post("/v1/arrears-alerts", headers=LEEDS, json=alert)).json()
        assert derby["risk_level"] == "medium" and derby["signalled"]
        assert leeds["risk_level"] == "low" and not leeds.get("signalled")
        records = await intake.read_until(lambda r: len(r) >= 1)
        assert headers_of(records[0])["ce_organisation"] == "south-norfolk"
        submission = data_of(records[0])["submission"]
        assert submission["referrer"]["organisation"] == "derby-homes"
        assert submission["tenancy"]["landlord_organisation"] == "derby-homes"


async def test_concurrent_alerts_on_two_replicas_signal_each_rise_once(
    make_settings, topic_reader
) -> None:
    settings = make_settings("referral")
    async with running(settings) as one, running(settings) as two:
        risk = await topic_reader(topic_name(Topic.TENANCY_RISK, settings.topic_prefix))

        def alerts(weeks: float) -> list[dict]:
            return [
                {
                    "tenancy_reference": f"C-{i}",
                    "arrears_balance": 100 * weeks,
                    "weeks_in_arrears": weeks,
                }
                for i in range(100)
            ]

        # Same level, different figures, sent at once through both replicas: one signal each.
        sends = [
            svc.client.post("/v1/arrears-alerts/batch", headers=DERBY, json=alerts(weeks))
            for svc in (one, two)
            for weeks in (4, 4.5, 5, 5.5)
        ]
        responses = await asyncio.gather(*sends)
        assert all(r.status_code == 200 for r in responses)
        signalled = sum(r.json()["counts"]["signalled"] for r in responses)
        assert signalled == 100
        await risk.read_until(lambda r: len(r) >= 100)
        await risk.settle(1.0)
        assert len({headers_of(r)["ce_id"] for r in risk.records}) == 100  # at least once
