"""Allocation over the real broker and database: waiting list, allocation, closure, risk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.allocation.records import CaseEntry
from shared.clock import ManualClock
from shared.codes import ClosureReason, LegalStage, RiskLevel, Route, Stage, SupportNeed
from shared.events.catalogue import CaseClosed, ReviewDue, StageChanged, TenancyAtRisk
from shared.kafka import ensure_topics
from shared.topics import Topic, topic_name
from tests.allocation.helpers import START, Service, assessed, collection, event, records_of
from tests.helpers import publish, wait_for

pytestmark = pytest.mark.integration


def closed(case_id: str, worker_id: str | None = None) -> object:
    return event(
        CaseClosed(
            case_id=case_id,
            person_id=f"person-{case_id}",
            route=Route.SUPPORT,
            reason=ClosureReason.PLAN_ACHIEVED,
            closed_at=datetime(2026, 5, 1, tzinfo=UTC),
            lead_worker_id=worker_id,
        )
    )


async def test_referral_assessed_is_allocated_to_the_right_worker(
    make_settings, topic_reader
) -> None:
    settings = make_settings("allocation")
    await ensure_topics(settings)
    service = await Service(settings, ManualClock(START)).start()
    try:
        await service.team()
        await service.worker("gen", "generalist")
        await service.worker("mia", "mental_health", hours=7.5)
        await service.worker("rhys", "reconnection")
        first = assessed("case-mh", SupportNeed.MENTAL_HEALTH, SupportNeed.BENEFITS)
        repeat = assessed("case-mh", SupportNeed.MENTAL_HEALTH)  # re-assessed: new event id
        await publish(
            settings,
            first,
            first,  # redelivered
            repeat,
            assessed("case-declined", route=Route.DECLINED),
            assessed("case-sc", SupportNeed.MENTAL_HEALTH, route=Route.RECONNECTION),
        )
        reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))
        await reader.read_until(lambda r: len(records_of(r, "CaseAllocated")) >= 2)
        await reader.settle(1.0)
        allocated = {
            data["case_id"]: (h, data) for h, data in records_of(reader.records, "CaseAllocated")
        }
        assert len(records_of(reader.records, "CaseAllocated")) == 2  # once each, never twice
        headers, mh = allocated["case-mh"]
        assert mh["lead_worker_id"] == "mia" and mh["team_id"] == "team-a"
        assert mh["team_leader_id"] == "abi" and mh["team_leader_email"] == "abi@derby.test"
        assert mh["lead_worker_email"] == "mia@derby.test"
        assert mh["stage"] == "stage_1" and mh["target_hours_per_week"] == 2.0
        assert mh["route"] == "support" and mh["person_id"] == "person-case-mh"
        assert mh["support_needs"] == ["mental_health", "benefits"]
        assert mh["tenancy_id"] == "derby-homes:T-case-mh"
        assert mh["referrer_organisation"] == "derby-council"
        assert headers["ce_organisation"] == "derby-homes"
        assert headers["ce_causationid"] == first.id and headers["ce_subject"] == "case-mh"
        assert allocated["case-sc"][1]["lead_worker_id"] == "rhys"
        assert allocated["case-sc"][1]["route"] == "reconnection"

        mia = await service.get("/v1/caseworkers/mia")
        assert (mia["free_hours"], mia["hours_committed"], mia["open_cases"]) == (5.5, 2.0, 1)
        assert mia["cases"] == ["case-mh"]
        case = await service.get("/v1/cases/case-mh")
        assert case["status"] == "allocated" and case["allocation"]["worker_id"] == "mia"
        missing = await service.client.get("/v1/cases/case-declined")
        assert missing.status_code == 404
    finally:
        await service.stop()


async def test_full_team_leaves_cases_waiting_in_priority_order_and_closure_pulls_the_next(
    make_settings, topic_reader
) -> None:
    settings = make_settings("allocation")
    await ensure_topics(settings)
    clock = ManualClock(START)
    service = await Service(settings, clock).start()
    try:
        await service.team()
        today = START.date()
        await publish(
            settings,
            assessed("low", SupportNeed.BENEFITS),
            assessed("eviction", legal=LegalStage.EVICTION_DATE_SET, facing=today),
            assessed("high", SupportNeed.BUDGETING_DEBT, risk=RiskLevel.HIGH),
            assessed("abuse", SupportNeed.DOMESTIC_ABUSE, risk=RiskLevel.HIGH),
            assessed("medium", SupportNeed.BUDGETING_DEBT, risk=RiskLevel.MEDIUM),
        )

        async def waiting() -> dict:
            body = await service.get("/v1/waiting-list")
            return body if body["waiting"] == 5 else {}

        listing = await wait_for(waiting)
        order = [(e["case_id"], e["position"]) for e in listing["entries"]]
        assert order == [("eviction", 1), ("abuse", 2), ("high", 3), ("medium", 4), ("low", 5)]
        top = listing["entries"][0]
        assert top["score"] == 80 and "legal stage: eviction date set (+40)" in top["reasons"]
        assert top["waiting_reason"] == "no generalist caseworker in the organisation"

        # A generalist with room for two cases at 2 h/week joins: the two most urgent cases a
        # generalist may lead go first; domestic abuse waits for a specialist.
        clock.advance(timedelta(days=3))
        await service.worker("gen", "generalist", hours=4.0)
        reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))
        await reader.read_until(lambda r: len(records_of(r, "CaseAllocated")) >= 2)
        first_two = [d["case_id"] for _, d in records_of(reader.records, "CaseAllocated")]
        assert sorted(first_two) == ["eviction", "high"]

        listing = await service.get("/v1/waiting-list")
        rows = [(e["case_id"], e["position"], e["waiting_reason"]) for e in listing["entries"]]
        assert rows == [
            ("abuse", 1, "no domestic-abuse caseworker in the organisation"),
            (
                "medium",
                2,
                "no generalist caseworker with 2 h free; reserved: the next 2 h free on gen go "
                "to this case (0 h free now)",
            ),
            ("low", 3, "no generalist caseworker with 2 h free"),
        ]
        assert "waiting 3 days (+3)" in listing["entries"][1]["reasons"]

        # Support closes the eviction case: its hours pull the next case, once.
        closure = closed("eviction", "gen")
        await publish(settings, closure, closure)
        await reader.read_until(lambda r: len(records_of(r, "CaseAllocated")) >= 3)
        await reader.settle(1.0)
        allocations = records_of(reader.records, "CaseAllocated")
        assert [d["case_id"] for _, d in allocations][2:] == ["medium"]
        gen = await service.get("/v1/caseworkers/gen")
        assert (gen["free_hours"], gen["open_cases"]) == (0.0, 2)
        assert sorted(gen["cases"]) == ["high", "medium"]
        listing = await service.get("/v1/waiting-list")
        assert [e["case_id"] for e in listing["entries"]] == ["abuse", "low"]
        case = await service.get("/v1/cases/eviction")
        assert case["status"] == "closed" and case["closure_reason"] == "plan_achieved"

        capacity = await service.get("/v1/capacity")
        totals = capacity["organisation_totals"]
        assert totals["contracted_hours"] == 4.0 and totals["hours_committed"] == 4.0
        assert totals["open_cases"] == 2 and totals["waiting"] == 2
        assert totals["longest_wait_days"] == 3.0 and totals["hours_short"] == 4.0
        assert capacity["teams"][0]["waiting"] == 1  # the team can lead "low", not "abuse"
    finally:
        await service.stop()


async def test_tenancy_at_risk_raises_a_waiting_cases_priority(make_settings) -> None:
    settings = make_settings("allocation")
    await ensure_topics(settings)
    service = await Service(settings, ManualClock(START)).start()
    try:
        alert = TenancyAtRisk(
            tenancy_id="derby-homes:T-quiet",
            landlord="derby-homes",
            alert_id="alert-1",
            risk_level=RiskLevel.CRITICAL,
            reasons=["8 weeks in arrears", "possession order"],
            arrears_balance=1200.0,
            legal_stage=LegalStage.POSSESSION_ORDER,
            case_id="quiet",
        )
        # The prevention referral an alert raised can reach us before its ReferralAssessed.
        early = TenancyAtRisk(
            tenancy_id="derby-homes:T-prevent",
            landlord="derby-homes",
            alert_id="alert-2",
            risk_level=RiskLevel.HIGH,
            reasons=["arrears rising"],
            arrears_balance=400.0,
            prevention_case_id="prevent",
        )
        await publish(settings, event(early))
        await publish(
            settings,
            assessed("busy", SupportNeed.MENTAL_HEALTH, risk=RiskLevel.MEDIUM),
            assessed("quiet", SupportNeed.BENEFITS, risk=RiskLevel.LOW),
        )

        async def ranked(count: int) -> list[str]:
            body = await service.get("/v1/waiting-list")
            ids = [e["case_id"] for e in body["entries"]]
            return ids if len(ids) == count else []

        assert await wait_for(lambda: ranked(2)) == ["busy", "quiet"]
        raise_risk = event(alert)
        await publish(settings, raise_risk, raise_risk)
        await publish(settings, assessed("prevent", SupportNeed.BENEFITS))

        async def quiet_on_top() -> list[dict]:
            body = await service.get("/v1/waiting-list")
            entries = body["entries"]
            return entries if len(entries) == 3 and entries[0]["case_id"] == "quiet" else []

        entries = await wait_for(quiet_on_top)
        quiet = entries[0]
        assert quiet["score"] == 45 + 30 + 2  # critical risk + possession order + one need
        assert any(
            "raised by a tenancy-risk alert: 8 weeks in arrears" in r for r in quiet["reasons"]
        )
        assert quiet["target_hours"] == 3.0  # critical risk: the top of stage 1's range
        prevent = next(e for e in entries if e["case_id"] == "prevent")
        assert any(r.startswith("risk high raised by") for r in prevent["reasons"])
        docs = {d["_id"]: d for d in await collection(settings, "cases")}
        assert len(docs["quiet"]["risk_signals"]) == 1  # the redelivered alert counted once
    finally:
        await service.stop()


async def test_review_weighed_against_the_waiting_list(make_settings) -> None:
    settings = make_settings("allocation")
    await ensure_topics(settings)
    service = await Service(settings, ManualClock(START)).start()
    try:
        await service.team()
        await service.worker("gen", "generalist", "domestic_abuse", hours=2.0)
        await publish(settings, assessed("open", SupportNeed.DOMESTIC_ABUSE, risk=RiskLevel.HIGH))
        await wait_for(lambda: _status(service, "open", "allocated"))
        await publish(settings, assessed("new", SupportNeed.BENEFITS))
        review = event(
            ReviewDue(
                case_id="open",
                review_id="open:stage_1_week_12",
                review_point="stage_1_week_12",
                due_on=START.date() + timedelta(weeks=12),
                notice="due",
                lead_worker_id="gen",
                weigh_against_waiting_list=True,
            )
        )
        not_weighed = event(
            ReviewDue(
                case_id="other",
                review_id="other:r",
                review_point="stage_3_step_down",
                due_on=START.date(),
                notice="due",
            )
        )
        await publish(settings, review, review, not_weighed)

        async def both() -> list[dict]:
            body = await service.get("/v1/waiting-list")
            return body["entries"] if body["reviews"] == 1 and body["waiting"] == 1 else []

        entries = await wait_for(both)
        assert [(e["kind"], e["case_id"], e["position"]) for e in entries] == [
            ("review", "open", None),
            ("waiting", "new", 1),
        ]
        assert entries[0]["score"] == 30 + 8  # high risk + domestic abuse, at review
        assert entries[0]["reasons"][0].startswith("continued priority at review stage_1_week_12")
        assert len(await collection(settings, "reviews")) == 1

        # The case closes at its review: the review leaves the ranking, the hours take "new".
        await publish(settings, closed("open", "gen"))
        await wait_for(lambda: _status(service, "new", "allocated"))
        body = await service.get("/v1/waiting-list")
        assert body["entries"] == []
    finally:
        await service.stop()


async def _status(service: Service, case_id: str, status: str) -> bool:
    response = await service.client.get(f"/v1/cases/{case_id}")
    return response.status_code == 200 and response.json()["status"] == status


async def test_a_claim_left_by_a_crash_is_completed_not_repeated(
    make_settings, topic_reader
) -> None:
    settings = make_settings("allocation")
    await ensure_topics(settings)
    service = await Service(settings, ManualClock(START)).start()
    try:
        await service.team()
        await service.worker("gen", "generalist", hours=10.0)
        store = service.runtime.allocation_store
        # The startup sweep is over once it has scheduled the next one (the manual clock never
        # reaches that): no pass may run between the crash below and the recovery.
        timers = service.runtime.db["timers"]
        await wait_for(lambda: _count_at_least(timers, 2), timeout=10)
        fields = {
            "organisation": "derby-homes",
            "person_id": "person-crashed",
            "route": "support",
            "stage": "stage_1",
            "support_needs": ["benefits"],
            "waiting_since": START,
        }
        entry = CaseEntry.model_validate({"_id": "crashed", **fields})
        await store.enter_many([(entry, "event-1")])
        # A replica claimed the hours, then died before recording the allocation.
        assert await store.claim("derby-homes", "gen", "crashed", 2.0, START) is not None
        await service.runtime.allocator.request("derby-homes")
        case = await service.get("/v1/cases/crashed")
        assert case["status"] == "allocated" and case["allocation"]["worker_id"] == "gen"
        gen = await service.get("/v1/caseworkers/gen")
        assert (gen["free_hours"], gen["open_cases"], gen["cases"]) == (8.0, 1, ["crashed"])
        reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))
        await reader.read_until(lambda r: len(records_of(r, "CaseAllocated")) >= 1)
        await reader.settle(0.5)
        assert len(records_of(reader.records, "CaseAllocated")) == 1
    finally:
        await service.stop()


async def test_stage_change_moves_the_committed_hours(make_settings) -> None:
    """Stage 3 takes 1/2-3 h/week: stepping two cases down frees room for a waiting one."""
    settings = make_settings("allocation")
    await ensure_topics(settings)
    service = await Service(settings, ManualClock(START)).start()
    try:
        await service.team()
        await service.worker("gen", "generalist", hours=4.0)
        await publish(settings, assessed("a"), assessed("b"))
        await wait_for(lambda: _status(service, "b", "allocated"))
        await wait_for(lambda: _status(service, "a", "allocated"))
        await publish(settings, assessed("c"))
        await wait_for(lambda: _status(service, "c", "waiting"))
        steps = [
            event(
                StageChanged(
                    case_id=case_id,
                    previous_stage=Stage.STAGE_1,
                    stage=Stage.STAGE_3,
                    target_hours_per_week=1.0,
                    changed_on=START.date(),
                )
            )
            for case_id in ("a", "b")
        ]
        await publish(settings, *steps, steps[0])  # one redelivered
        await wait_for(lambda: _status(service, "c", "allocated"))
        gen = await service.get("/v1/caseworkers/gen")
        assert (gen["free_hours"], gen["open_cases"]) == (0.0, 3)
        case = await service.get("/v1/cases/a")
        assert case["stage"] == "stage_3" and case["allocation"]["hours"] == 1.0
    finally:
        await service.stop()


async def _count_at_least(collection: Any, n: int) -> bool:
    return bool(await collection.count_documents({}) >= n)
