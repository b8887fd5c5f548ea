"""Stage 2 from the supported housing panel, the two-year limit overridden with a reason,
and a review that closes the case."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.clock import ManualClock
from shared.codes import Stage
from shared.topics import Topic, topic_name
from tests.helpers import publish, wait_for
from tests.support.helpers import DERBY, allocated, count_of, events_of, running_support

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def test_override_then_review_closes_the_case(make_settings, topic_reader) -> None:
    settings = make_settings("support")
    clock = ManualClock(START)
    async with running_support(settings, clock) as (http, casework, _):
        await publish(settings, allocated("case-l", START, stage=Stage.STAGE_2))
        await wait_for(lambda: casework.store.get("case-l"))
        case = (await http.get("/v1/cases/case-l", headers=DERBY)).json()
        assert case["support_limit_on"] == "2028-01-05"
        assert [r["point"] for r in case["reviews"]][-1] == "support_limit"

        clock.set(datetime(2028, 1, 5, 10, tzinfo=UTC))  # two years on
        limit_review = case["reviews"][-1]["review_id"]
        carry_on = {
            "outcome": "continue",
            "completed_by": "leader-1",
            "waiting_list_priority": "case_keeps_priority",
        }
        url = f"/v1/cases/case-l/reviews/{limit_review}/complete"
        r = await http.post(url, json=carry_on, headers=DERBY)
        assert r.status_code == 409 and "override" in r.json()["detail"]

        thin = {"extend_until": "2028-04-05", "justification": "busy", "approved_by": "tl"}
        r = await http.post("/v1/cases/case-l/limit-overrides", json=thin, headers=DERBY)
        assert r.status_code == 422 and r.json()["detail"].startswith("justification")
        override = {
            **thin,
            "justification": "Possession hearing in March; moving support now would fail",
        }
        r = await http.post("/v1/cases/case-l/limit-overrides", json=override, headers=DERBY)
        assert r.status_code == 200
        body = r.json()
        assert body["support_limit_on"] == "2028-04-05"
        pending = [x for x in body["reviews"] if x["status"] == "pending"]
        # The overdue stage 2 reviews stay pending; the limit review moves.
        assert (pending[-1]["point"], pending[-1]["due_on"]) == ("support_limit", "2028-04-05")
        old = next(x for x in body["reviews"] if x["review_id"] == limit_review)
        assert old["status"] == "superseded"
        pending = pending[-1:]

        clock.set(datetime(2028, 4, 5, 10, tzinfo=UTC))
        close = {
            **carry_on,
            "outcome": "close",
            "closure": {
                "reason": "plan_achieved",
                "tenancy_outcome": "not_applicable",
                "closed_by": "leader-1",
            },
        }
        url = f"/v1/cases/case-l/reviews/{pending[0]['review_id']}/complete"
        r = await http.post(url, json={**close, "closure": None}, headers=DERBY)
        assert r.status_code == 422 and r.json()["detail"].startswith("closure")
        r = await http.post(url, json=close, headers=DERBY)
        assert r.status_code == 200, r.text
        closed = r.json()
        assert closed["status"] == "closed"
        [done] = [x for x in closed["reviews"] if x["review_id"] == pending[0]["review_id"]]
        assert (done["status"], done["outcome"]) == ("completed", "close")

        reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))
        await reader.read_until(count_of("CaseClosed", 1))
        [event] = events_of(reader.records, "CaseClosed")
        assert event.data["reason"] == "plan_achieved"
        assert event.data["tenancy_outcome"] == "not_applicable"
