"""TenancyAtRisk on an open case escalates it once per higher risk level."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest

from services.support.app import create_app
from shared.clock import ManualClock
from shared.codes import LegalStage, RiskLevel
from shared.events.catalogue import TenancyAtRisk
from shared.events.envelope import Envelope, make_event
from shared.kafka import ensure_topics
from shared.topics import Topic, topic_name
from tests.helpers import publish, wait_for
from tests.support.helpers import DERBY, LEEDS, allocated, count_of, events_of

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TENANCY = "derby-homes:T-100"


def at_risk(
    alert: str,
    level: RiskLevel,
    case_id: str | None = None,
    legal_stage: LegalStage = LegalStage.NONE,
    eviction_date: date | None = None,
) -> Envelope:
    return make_event(
        TenancyAtRisk(
            tenancy_id=TENANCY,
            landlord="derby-homes",
            alert_id=alert,
            risk_level=level,
            reasons=["weeks_in_arrears>=6"],
            arrears_balance=1450.0,
            weekly_rent=95.0,
            legal_stage=legal_stage,
            eviction_date=eviction_date,
            case_id=case_id,
            prevention_case_id=None,
        ),
        source="referral",
        organisation="derby-homes",
    )


async def test_tenancy_at_risk_escalates_once_per_higher_level(make_settings, topic_reader) -> None:
    settings = make_settings("support")
    await ensure_topics(settings)
    app = create_app(settings, ManualClock(START), manage_runtime=False)
    runtime, casework = app.state.runtime, app.state.casework
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            await publish(settings, allocated("case-e", START, tenancy_id=TENANCY))
            await wait_for(lambda: casework.store.get("case-e"))
            reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))

            high = at_risk("a1", RiskLevel.HIGH)  # found by tenancy id
            await publish(settings, high, high, at_risk("a2", RiskLevel.HIGH, "case-e"))
            await reader.read_until(count_of("CaseEscalated", 1))
            await reader.settle(1.5)
            [first] = {e.id: e for e in events_of(reader.records, "CaseEscalated")}.values()
            assert first.data["risk_level"] == "high"
            assert first.data["contact_frequency_per_week"] == 3.0
            assert first.data["crisis_worker_id"] == "worker-1"  # lead until one is designated
            assert first.organisation == "derby-homes" and first.causationid == high.id
            assert not first.data["plan_to_leave"]

            designated = await http.put(
                "/v1/crisis-worker", json={"worker_id": "crisis-7"}, headers=DERBY
            )
            assert designated.status_code == 200
            critical = at_risk(
                "a3",
                RiskLevel.CRITICAL,
                "case-e",
                LegalStage.EVICTION_DATE_SET,
                date(2026, 1, 30),
            )
            await publish(settings, critical)
            await reader.read_until(count_of("CaseEscalated", 2))
            second = next(e for e in events_of(reader.records, "CaseEscalated") if e.id != first.id)
            assert second.data["risk_level"] == "critical"
            assert second.data["contact_frequency_per_week"] == 7.0
            assert second.data["crisis_worker_id"] == "crisis-7"
            assert second.data["plan_to_leave"] is True

            listed = (await http.get("/v1/escalated-cases", headers=DERBY)).json()["cases"]
            assert [c["case_id"] for c in listed] == ["case-e"]
            escalation = listed[0]["escalation"]
            assert {a["kind"] for a in escalation["plan_to_leave"]} >= {
                "plan_to_leave_furniture",
                "plan_to_leave_accommodation_referral",
            }
            assert "arrears_advocacy" in {a["kind"] for a in escalation["advocacy_actions"]}
            assert (await http.get("/v1/escalated-cases", headers=LEEDS)).json()["cases"] == []

            # A worker's own flag at a lower level changes nothing.
            flag = {"risk_level": "medium", "reasons": ["neighbour dispute"], "flagged_by": "w1"}
            response = await http.post("/v1/cases/case-e/escalate", json=flag, headers=DERBY)
            assert response.status_code == 200 and response.json()["escalated"] is False
            await reader.settle(1.0)
            assert len({e.id for e in events_of(reader.records, "CaseEscalated")}) == 2
    finally:
        await runtime.stop()


async def test_worker_flag_escalates_over_http(make_settings, topic_reader) -> None:
    settings = make_settings("support")
    await ensure_topics(settings)
    app = create_app(settings, ManualClock(START), manage_runtime=False)
    runtime, casework = app.state.runtime, app.state.casework
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            await publish(settings, allocated("case-f", START))
            await wait_for(lambda: casework.store.get("case-f"))
            reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))
            flag = {"risk_level": "high", "reasons": ["rent arrears"], "flagged_by": "worker-1"}
            other = await http.post("/v1/cases/case-f/escalate", json=flag, headers=LEEDS)
            assert other.status_code == 404
            response = await http.post("/v1/cases/case-f/escalate", json=flag, headers=DERBY)
            assert response.status_code == 200 and response.json()["escalated"] is True
            await reader.read_until(count_of("CaseEscalated", 1))
            again = await http.post("/v1/cases/case-f/escalate", json=flag, headers=DERBY)
            assert again.json()["escalated"] is False
    finally:
        await runtime.stop()


async def test_a_landlords_alert_does_not_reach_another_organisations_case_unnamed(
    make_settings, topic_reader
) -> None:
    """A council's case naming the landlord's tenancy hears of its arrears only when the
    referral service names that case (under a tenancy-data agreement), never by tenancy id."""
    settings = make_settings("support")
    await ensure_topics(settings)
    app = create_app(settings, ManualClock(START), manage_runtime=False)
    runtime, casework = app.state.runtime, app.state.casework
    await runtime.start()
    try:
        council_case = allocated("case-c", START, tenancy_id=TENANCY, organisation="leeds-council")
        await publish(settings, council_case)
        await wait_for(lambda: casework.store.get("case-c"))
        reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))
        await publish(settings, at_risk("a9", RiskLevel.CRITICAL))
        await reader.settle(2.0)
        assert events_of(reader.records, "CaseEscalated") == []
        case = await casework.store.get("case-c")
        assert case is not None and case["organisation"] == "leeds-council"
    finally:
        await runtime.stop()
