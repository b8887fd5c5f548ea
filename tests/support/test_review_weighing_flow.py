"""Issue 20 over HTTP: the stage 1 review weighs new needs against the referrals waiting, a
stage change lists each period of hours once, and a closure may leave the outcome out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.clock import ManualClock
from tests.helpers import publish, wait_for
from tests.support.helpers import DERBY, allocated, running_support

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TENANCY = "derby-homes:t-issue20"


async def test_stage_1_review_periods_and_closure_defaults(make_settings) -> None:
    settings = make_settings("support")
    clock = ManualClock(START)
    async with running_support(settings, clock) as (http, casework, _):
        for case_id, tenancy in (("w-close", TENANCY), ("w-same-day", None), ("w-12", None)):
            await publish(settings, allocated(case_id, START, tenancy_id=tenancy))
        for case_id in ("w-close", "w-same-day", "w-12"):
            await wait_for(lambda case_id=case_id: casework.store.get(case_id))

        await closing_may_leave_the_outcome_out(http)
        await a_same_day_stage_change_lists_the_period_once(http)
        clock.set(START + timedelta(weeks=12))
        await new_needs_are_weighed_at_the_12_week_review(http)


async def closing_may_leave_the_outcome_out(http: httpx.AsyncClient) -> None:
    """Before: the schema's own default (not_applicable) was refused for this case (it has a
    tenancy) and for tenancy_sustained."""
    body: dict[str, Any] = {"reason": "plan_achieved", "closed_by": "leader-1"}
    r = await http.post("/v1/cases/w-close/close", json=body, headers=DERBY)
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == (
        "tenancy_outcome: required: plan_achieved needs one of: moved_on_planned, sustained"
    )
    body = {"reason": "tenancy_sustained", "closed_by": "leader-1"}
    r = await http.post("/v1/cases/w-close/close", json=body, headers=DERBY)
    assert r.status_code == 200, r.text
    assert r.json()["closure"]["tenancy_outcome"] == "sustained"


async def a_same_day_stage_change_lists_the_period_once(http: httpx.AsyncClient) -> None:
    """Before: stepped down on the day it opened, with the hours kept, the case listed the
    period from 2026-01-05 at 2 hours a week twice."""
    [review] = (await http.get("/v1/cases/w-same-day", headers=DERBY)).json()["reviews"]
    step_down = {"outcome": "step_down", "completed_by": "worker-1"}
    r = await http.post(
        f"/v1/cases/w-same-day/reviews/{review['review_id']}/complete",
        json=step_down,
        headers=DERBY,
    )
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "stage_2"
    assert r.json()["hours_periods"] == [{"starts_on": "2026-01-05", "hours": 2.0}]
    again = (await http.get("/v1/cases/w-same-day", headers=DERBY)).json()
    assert again["hours_periods"] == [{"starts_on": "2026-01-05", "hours": 2.0}]


async def new_needs_are_weighed_at_the_12_week_review(http: httpx.AsyncClient) -> None:
    """Stage 1: "support plan will be reviewed at 12 weeks.  At this point, any new support
    needs identified, will be assessed for priority against referrals waiting for service."
    Before, `new_needs` was stored and never weighed: any outcome went through."""
    [review] = (await http.get("/v1/cases/w-12", headers=DERBY)).json()["reviews"]
    assert (review["point"], review["due_on"]) == ("stage_1_week_12", "2026-03-30")
    path = f"/v1/cases/w-12/reviews/{review['review_id']}/complete"
    completion: dict[str, Any] = {
        "outcome": "continue",
        "completed_by": "worker-1",
        "new_needs": ["mental_health"],
    }
    r = await http.post(path, json=completion, headers=DERBY)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("waiting_list_priority: required: new support needs")
    completion["waiting_list_priority"] = "waiting_referrals_first"
    r = await http.post(path, json=completion, headers=DERBY)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("outcome: referrals waiting come first")
    completion["outcome"] = "step_down"
    r = await http.post(path, json=completion, headers=DERBY)
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "stage_2"
    [done] = [x for x in r.json()["reviews"] if x["review_id"] == review["review_id"]]
    assert done["new_needs"] == ["mental_health"]
    assert done["weighing"] == (
        "new support needs (mental_health) assessed for priority against referrals waiting: "
        "referrals waiting come first, so the case leaves stage 1"
    )
