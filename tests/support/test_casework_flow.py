"""A case worked over HTTP: assessment, plan agreed, contacts, a review that steps the case
down, reallocation, and closure with the safety-net evaluation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.support.store import TIMERS
from shared.clock import ManualClock
from shared.events.catalogue import CaseReallocated
from shared.events.envelope import make_event
from shared.topics import Topic, topic_name
from tests.helpers import publish, wait_for
from tests.support.helpers import DERBY, LEEDS, allocated, count_of, events_of, running_support

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TENANCY = "derby-homes:T-200"

ASSESSMENT: dict[str, Any] = {
    "assessed_by": "worker-1",
    "needs": [
        {"domain": "income_and_benefits", "level": "high", "notes": "UC claim stopped"},
        {"domain": "budgeting_and_arrears", "level": "high"},
        {"domain": "mental_health", "level": "medium"},
        {"domain": "safety", "level": "none"},
    ],
    "risks": "arrears rising",
}
PLAN: dict[str, Any] = {
    "drafted_by": "worker-1",
    "goals": [
        {
            "domain": "income_and_benefits",
            "goal": "Universal Credit restored with housing element",
            "actions": [
                {"description": "Book UC appointment", "owner": "client", "due_on": "2026-01-12"},
                {"description": "Write to DWP", "owner": "worker", "due_on": "2026-01-09"},
            ],
        },
        {
            "domain": "mental_health",
            "goal": "Reconnect with the community mental health team",
            "actions": [
                {
                    "description": "Referral accepted",
                    "owner": "partner_agency",
                    "partner_agency": "CMHT",
                    "due_on": "2026-02-01",
                }
            ],
        },
    ],
}


async def test_case_worked_from_plan_to_closure(make_settings, topic_reader) -> None:
    settings = make_settings("support")
    clock = ManualClock(START)
    async with running_support(settings, clock) as (http, casework, runtime):
        await publish(settings, allocated("case-w", START, tenancy_id=TENANCY))
        await wait_for(lambda: casework.store.get("case-w"))
        reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))

        assert (await http.get("/v1/cases/case-w", headers=LEEDS)).status_code == 404
        early = await http.put("/v1/cases/case-w/plan", json=PLAN, headers=DERBY)
        assert early.status_code == 409 and "assessment" in early.json()["detail"]
        r = await http.post("/v1/cases/case-w/assessment", json=ASSESSMENT, headers=DERBY)
        assert r.status_code == 200
        bad = {**PLAN, "goals": [{**PLAN["goals"][0], "domain": "safety"}]}
        r = await http.put("/v1/cases/case-w/plan", json=bad, headers=DERBY)
        assert r.status_code == 422 and r.json()["detail"].startswith("goals.0.domain")
        r = await http.put("/v1/cases/case-w/plan", json=PLAN, headers=DERBY)
        assert r.status_code == 200 and r.json()["plan"]["status"] == "draft"
        agree = {"agreed_by": "worker-1", "client_agreed": True}
        r = await http.post("/v1/cases/case-w/plan/agree", json=agree, headers=DERBY)
        assert r.status_code == 200
        again = await http.post("/v1/cases/case-w/plan/agree", json=agree, headers=DERBY)
        assert again.status_code == 409
        r = await http.post(
            "/v1/cases/case-w/plan/actions/g1a2/progress",
            json={"progress": "done", "note": "letter sent"},
            headers=DERBY,
        )
        assert r.status_code == 200 and r.json()["plan"]["progress"] == 0.33

        contact = {
            "worker_id": "worker-1",
            "channel": "home_visit",
            "occurred_on": "2026-01-05",
            "duration_minutes": 90,
            "notes": "getting-to-know-you interview",
        }
        r = await http.post("/v1/cases/case-w/contacts", json=contact, headers=DERBY)
        assert r.status_code == 201
        r = await http.post(
            "/v1/cases/case-w/contacts",
            json={**contact, "channel": "carrier_pigeon"},
            headers=DERBY,
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "channel"
        photo = {
            "kind": "photo",
            "received_via": "whatsapp",
            "received_on": "2026-01-06",
            "filename": "eviction-notice.jpg",
            "content_type": "image/jpeg",
            "size_bytes": 182000,
        }
        assert (
            await http.post("/v1/cases/case-w/files", json=photo, headers=DERBY)
        ).status_code == 201

        case = (await http.get("/v1/cases/case-w", headers=DERBY)).json()
        assert case["hours"]["actual_hours"] == 1.5
        assert case["hours"]["planned_hours_this_week"] == 2.0
        assert case["files"][0]["filename"] == "eviction-notice.jpg"
        [review] = case["reviews"]
        assert (review["point"], review["due_on"]) == ("stage_1_week_12", "2026-03-30")

        await publish(
            settings,
            make_event(
                CaseReallocated(
                    case_id="case-w",
                    previous_worker_id="worker-1",
                    lead_worker_id="worker-2",
                    team_leader_id="leader-1",
                    reason="cover",
                ),
                source="allocation",
                organisation="derby-homes",
            ),
        )

        async def moved() -> bool:
            doc = await casework.store.get("case-w")
            return doc["lead_worker_id"] == "worker-2"

        await wait_for(moved)
        caseload = await http.get("/v1/caseworkers/worker-2/cases", headers=DERBY)
        assert [c["case_id"] for c in caseload.json()["cases"]] == ["case-w"]

        clock.set(datetime(2026, 3, 26, 10, tzinfo=UTC))  # the week of the review
        due = (await http.get("/v1/reviews/due", headers=DERBY)).json()["reviews"]
        assert [d["review_id"] for d in due] == [review["review_id"]]
        team = case["team_id"]
        ids = [review["review_id"]]
        for teams, expected in ((["no-such-team"], []), ([team, "other"], ids), (None, ids)):
            params = {"team_id": teams} if teams else {}
            answer = await http.get("/v1/reviews/due", headers=DERBY, params=params)
            assert [d["review_id"] for d in answer.json()["reviews"]] == expected

        step_down = {"outcome": "step_down", "completed_by": "worker-2", "notes": "stable"}
        r = await http.post(
            f"/v1/cases/case-w/reviews/{review['review_id']}/complete",
            json=step_down,
            headers=DERBY,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["stage"] == "stage_2"
        pending = [x for x in body["reviews"] if x["status"] == "pending"]
        assert [x["point"] for x in pending] == [
            "stage_2_month_6",
            "stage_2_month_12",
            "stage_2_month_15",
            "stage_2_month_18",
            "support_limit",
        ]
        timers = runtime.db[TIMERS]
        live = await timers.count_documents({"subject": "case-w", "fired": False})
        assert live == 10  # a reminder and a notice for each new review

        # A stage 2 review must be weighed against referrals waiting.
        clock.advance(timedelta(days=100))
        month_6 = pending[0]["review_id"]
        r = await http.post(
            f"/v1/cases/case-w/reviews/{month_6}/complete",
            json={"outcome": "continue", "completed_by": "worker-2"},
            headers=DERBY,
        )
        assert r.status_code == 422 and "waiting_list_priority" in r.json()["detail"]

        closure: dict[str, Any] = {
            "reason": "evicted",
            "tenancy_outcome": "evicted",
            "closed_by": "leader-1",
        }
        r = await http.post("/v1/cases/case-w/close", json=closure, headers=DERBY)
        assert r.status_code == 422 and r.json()["detail"].startswith("evaluation")
        closure["evaluation"] = {
            "broke_down_at": "arrears",
            "what_happened": "Benefit sanction, arrears grew past 8 weeks",
            "what_could_have_prevented_it": "Earlier arrears alert to the worker",
            "reviewed_with_client": True,
        }
        r = await http.post("/v1/cases/case-w/close", json=closure, headers=DERBY)
        assert r.status_code == 200 and r.json()["status"] == "closed"
        assert await timers.count_documents({"subject": "case-w", "fired": False}) == 0
        r = await http.post("/v1/cases/case-w/close", json=closure, headers=DERBY)
        assert r.status_code == 409

        await reader.read_until(count_of("CaseClosed", 1))
        [agreed] = events_of(reader.records, "SupportPlanAgreed")
        assert agreed.data["goal_domains"] == ["income_and_benefits", "mental_health"]
        assert agreed.data["next_review_on"] == "2026-03-30"
        [changed] = events_of(reader.records, "StageChanged")
        assert (changed.data["previous_stage"], changed.data["stage"]) == (
            "stage_1",
            "stage_2",
        )
        [closed] = events_of(reader.records, "CaseClosed")
        assert closed.data["route"] == "support"
        assert closed.data["reason"] == "evicted"
        assert closed.data["tenancy_id"] == TENANCY
        assert closed.data["person_id"] == "p-case-w"
        assert closed.data["involved_organisations"] == ["derby-homes", "probation-east"]
        assert closed.subject == "case-w" and closed.organisation == "derby-homes"
