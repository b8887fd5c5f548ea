"""Issue 20, entry routes of the staged model: a support referral's entry stage follows its
source, and a case that began before Hearth is opened at its stage from its start date."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.support.app import create_app
from services.support.store import TIMERS
from shared.clock import ManualClock
from shared.kafka import ensure_topics
from shared.topics import Topic, topic_name
from tests.identity import bearer
from tests.referral.factories import referral_json
from tests.referral.service import DERBY as REFERRER
from tests.referral.service import data, of_type, running_referral
from tests.support.helpers import DERBY, LEEDS, ORG

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CALM: dict[str, Any] = {}  # no date, no legal action, no risk stated: not in crisis


async def test_a_support_referral_enters_at_its_sources_stage(make_settings, topic_reader) -> None:
    """Stage 2: "From Stage 1 or via Supported Housing Panel"; Stage 3: "From Stage 1, Stage 2,
    Housing, self referral etc"; Stage 1, "Crisis Intervention": "From District
    Housing/Supported Housing panel/self referral/CAB /other". Before, every ReferralAssessed
    left the case to start at Stage 1."""
    settings = make_settings("referral")
    async with running_referral(settings, ManualClock(NOW)) as (_runtime, client):
        events = await topic_reader(topic_name(Topic.REFERRAL_EVENTS, settings.topic_prefix))
        sent = {
            "panel": referral_json(source="supported_housing_panel", urgency=CALM),
            "self": referral_json(source="self_referral", urgency=CALM),
            "self-in-crisis": referral_json(source="self_referral"),  # notice served
            "citizens-advice": referral_json(source="citizens_advice", urgency=CALM),
        }
        ids: dict[str, str] = {}
        for name, body in sent.items():
            r = await client.post("/v1/referrals", json=body, headers=REFERRER)
            assert r.status_code == 201 and r.json()["route"] == "support", r.text
            ids[name] = r.json()["id"]
        records = await events.read_until(lambda rs: len(of_type(rs, "ReferralAssessed")) >= 4)
        stages = {
            name: data(of_type(records, "ReferralAssessed", referral_id)[0])["entry_stage"]
            for name, referral_id in ids.items()
        }
        assert stages == {
            "panel": "stage_2",
            "self": "stage_3",
            "self-in-crisis": "stage_1",
            "citizens-advice": "stage_1",
        }


OPEN: dict[str, Any] = {
    "case_id": "pre-hearth-7",
    "person_id": "p-pre-hearth-7",
    "stage": "stage_2",
    "started_on": "2025-07-01",
    "lead_worker_id": "worker-1",
    "team_id": "team-a",
    "team_leader_id": "leader-1",
}


async def test_a_case_that_began_before_hearth_opens_at_its_stage(make_settings) -> None:
    """A case "via Supported Housing Panel" in Stage 2 since 2025-07-01, taken on by Hearth on
    2026-03-02: its "review at 6,12, 15, and 18 months" from then on. Before, no API could open
    a case at a stage with a start date."""
    settings = make_settings("support")
    await ensure_topics(settings)
    app = create_app(settings, ManualClock(NOW), manage_runtime=False)
    runtime = app.state.runtime
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    caseworker = bearer(ORG, ["caseworker"], ["team-a"], "worker-1")
    other_leader = bearer(ORG, ["team-leader"], ["team-b"], "leader-2")
    leader = bearer(ORG, ["team-leader"], ["team-a"], "leader-1")
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            r = await http.post("/v1/cases", json=OPEN, headers=caseworker)
            assert r.status_code == 403, r.text
            r = await http.post("/v1/cases", json=OPEN, headers=other_leader)
            assert r.status_code == 403 and r.json()["detail"].startswith("team_id"), r.text
            future = {**OPEN, "started_on": "2026-03-03"}
            r = await http.post("/v1/cases", json=future, headers=leader)
            assert r.status_code == 422 and r.json()["detail"].startswith("started_on"), r.text
            too_few = {**OPEN, "stage": "stage_1", "target_hours_per_week": 0.5}
            r = await http.post("/v1/cases", json=too_few, headers=leader)
            assert r.status_code == 422, r.text
            assert r.json()["detail"].startswith("target_hours_per_week")

            r = await http.post("/v1/cases", json=OPEN, headers=leader)
            assert r.status_code == 201, r.text
            case = r.json()
            assert (case["stage"], case["stage_started_on"]) == ("stage_2", "2025-07-01")
            assert (case["support_started_on"], case["support_limit_on"]) == (
                "2025-07-01",
                "2027-07-01",
            )
            assert case["target_hours_per_week"] == 2.0
            assert [(x["point"], x["due_on"]) for x in case["reviews"]] == [
                ("stage_2_month_12", "2026-07-01"),
                ("stage_2_month_15", "2026-10-01"),
                ("stage_2_month_18", "2027-01-01"),
                ("support_limit", "2027-07-01"),
            ]
            assert all(x["weigh_against_waiting_list"] for x in case["reviews"][:3])
            live = await runtime.db[TIMERS].count_documents(
                {"subject": "pre-hearth-7", "fired": False}
            )
            assert live == 8  # a reminder and a notice for each review

            shown = await http.get("/v1/cases/pre-hearth-7", headers=leader)
            assert shown.status_code == 200 and shown.json()["stage"] == "stage_2"
            assert (await http.get("/v1/cases/pre-hearth-7", headers=LEEDS)).status_code == 404
            r = await http.post("/v1/cases", json=OPEN, headers=DERBY)
            assert r.status_code == 409 and r.json()["detail"].startswith("case_id"), r.text
    finally:
        await runtime.stop()
