"""What the landlord's feed tells outcomes, through the real service: alerts by webhook and by
CSV in, exactly the TenancyArrearsReported and TenancyEnded it should cause out on the real
broker's tenancy.risk topic."""

from __future__ import annotations

from typing import Any

import pytest

from shared.codes import Route
from shared.events.case_events import CaseAllocated
from shared.events.envelope import make_event
from shared.topics import Topic, topic_name
from tests.helpers import publish, wait_for
from tests.referral.arrears.harness import DERBY, data_of, headers_of, running, upload_csv
from tests.tenancies import tenancy_of

pytestmark = pytest.mark.integration

FEED_TYPES = ("hearth.TenancyArrearsReported.v1", "hearth.TenancyEnded.v1")


def feed_events(records: list[Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The feed's events by event id (at least once on the wire, exactly once by id)."""
    found = {}
    for record in records:
        headers = headers_of(record)
        if headers["ce_type"] in FEED_TYPES:
            found[headers["ce_id"]] = (headers["ce_type"].split(".")[1], data_of(record))
    return found


async def test_ends_and_changed_figures_of_supported_tenancies_are_told_once(
    make_settings, topic_reader
) -> None:
    """Derby Homes: "Its primary goal is to curb the annual tenancy turnover rate ... bring it
    below 10% in two years", and "one person's rent arrears fell by £1500": an end counted once
    and arrears as they move, for the tenancies Hearth supports."""
    settings = make_settings("referral")
    supported = tenancy_of("derby-homes", "END-1")
    never = tenancy_of("derby-homes", "NEW-1")
    moved_on = tenancy_of("derby-homes", "NEW-2")
    allocated = make_event(
        CaseAllocated(
            case_id="case-81",
            person_id="p-81",
            route=Route.SUPPORT,
            lead_worker_id="w-1",
            team_id="team-1",
            team_leader_id="tl-1",
            target_hours_per_week=2,
            allocated_at="2026-01-02T10:00:00Z",
            tenancy_id=supported,
        ),
        source="tests",
        organisation="derby-homes",
    )
    async with running(settings) as svc:
        risk = await topic_reader(topic_name(Topic.TENANCY_RISK, settings.topic_prefix))
        await publish(settings, allocated)

        async def case_open() -> bool:
            doc = await svc.runtime.db["tenancy_risk"].find_one({"_id": supported})
            return bool(doc and any(c["status"] == "open" for c in doc["cases"].values()))

        await wait_for(case_open)

        async def post(body: dict[str, Any], status: int = 200) -> dict[str, Any]:
            answer = await svc.client.post("/v1/arrears-alerts", headers=DERBY, json=body)
            assert answer.status_code == status, answer.text
            result: dict[str, Any] = answer.json()
            return result

        figures = {"tenancy_reference": "END-1", "arrears_balance": 300, "weekly_rent": 95}
        first = await post(figures)  # low (under 4 weeks' rent): no TenancyAtRisk; the figures
        await post(figures)  # the very same alert: a duplicate
        await post({**figures, "weeks_in_arrears": 1})  # same figures: nothing new
        end = {"tenancy_ended_on": "2026-01-02", "tenancy_end_reason": "eviction"}
        await post({**figures, **end})
        half = await post({**figures, "tenancy_end_reason": "eviction"}, status=422)
        assert "tenancy_end_reason" in str(half) and "tenancy_ended_on" in str(half)

        report = await upload_csv(
            svc.client,
            "tenancy_reference,arrears_balance,weekly_rent,reported_on,tenancy_ended_on,"
            "tenancy_end_reason\n"
            "END-1,300,95,,02/01/2026,eviction\n"  # the same end and figures again
            "NEW-1,200,80,,,\n"  # never supported: its figures are not told
            "NEW-1,250,80,,,\n"
            "NEW-2,0,80,,20/12/2025,moved_on\n"  # an end, of a tenancy without a case
            "END-1,100,95,2026-01-04,,\n"  # arrears fell
            "END-2,0,80,,,eviction\n",  # half an end: rejected, naming the column
            DERBY,
        )
        rows = {row["line"]: row for row in report["rows"]}
        assert rows[7]["status"] == "rejected"
        assert rows[7]["reason"].startswith("tenancy_end_reason: needs tenancy_ended_on")

        await risk.read_until(lambda r: len(feed_events(r)) >= 4, timeout=60)
        await risk.settle(1.5)
        told = sorted(
            feed_events(risk.records).values(),
            key=lambda e: (e[0], e[1].get("reported_on") or e[1]["ended_on"]),
        )
        alert_ids = [data.pop("alert_id") for _kind, data in told]
        assert alert_ids[1] == first["alert_id"]  # the webhook's figures, by its alert
        assert told == [
            (
                "TenancyArrearsReported",
                {
                    "tenancy_id": supported,
                    "landlord": "derby-homes",
                    "reported_on": "2026-01-04",
                    "arrears_balance": 100.0,
                    "weekly_rent": 95.0,
                    "legal_stage": "none",
                    "case_ids": ["case-81"],
                },
            ),
            (
                "TenancyArrearsReported",
                {
                    "tenancy_id": supported,
                    "landlord": "derby-homes",
                    "reported_on": "2026-01-05",  # the service's day: the alert named none
                    "arrears_balance": 300.0,
                    "weekly_rent": 95.0,
                    "legal_stage": "none",
                    "case_ids": ["case-81"],
                },
            ),
            (
                "TenancyEnded",
                {
                    "tenancy_id": moved_on,
                    "landlord": "derby-homes",
                    "ended_on": "2025-12-20",
                    "reason": "moved_on",
                    "case_ids": [],
                },
            ),
            (
                "TenancyEnded",
                {
                    "tenancy_id": supported,
                    "landlord": "derby-homes",
                    "ended_on": "2026-01-02",
                    "reason": "eviction",
                    "case_ids": ["case-81"],
                },
            ),
        ]
        # Nothing else on the topic: no TenancyAtRisk (every alert was low), nothing of NEW-1.
        assert {headers_of(r)["ce_type"] for r in risk.records} <= set(FEED_TYPES)
        assert not [r for r in risk.records if headers_of(r)["ce_subject"] == never]
