"""What support tells the outcomes service (issue 18): each contact logged (ContactLogged, the
case's first marked) and each review completed (ReviewCompleted, when it was due and done, and
the decision), through the case's own outbox, once each however often a request is retried.

From the staged model: Stage 1 is "8-12 weeks ... review at 12 weeks"; outcomes measures the
time from referral to first contact and whether reviews were on time from these."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from shared.clock import ManualClock
from shared.codes import Stage
from shared.events.catalogue import ContactLogged, ReviewCompleted
from shared.events.envelope import Envelope, from_kafka
from shared.topics import Topic, topic_name
from tests.helpers import publish, wait_for
from tests.support.helpers import DERBY, allocated, events_of, running_support

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
VISIT = {
    "worker_id": "worker-1",
    "channel": "home_visit",
    "occurred_on": "2026-01-05",
    "duration_minutes": 90,
    "notes": "getting-to-know-you interview",  # never leaves support
}


def envelopes(records: list[Any]) -> list[Envelope]:
    return [from_kafka(r.key, r.value, r.headers) for r in records]


def of_case(records: list[Any], short_type: str, case_id: str) -> list[Envelope]:
    return [e for e in events_of(records, short_type) if e.data["case_id"] == case_id]


async def test_contacts_logged_once_each_and_the_first_marked(make_settings, topic_reader) -> None:
    settings = make_settings("support")
    async with running_support(settings, ManualClock(START)) as (http, casework, _):
        await publish(settings, allocated("case-c", START))
        await wait_for(lambda: casework.store.get("case-c"))
        reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))

        keyed = DERBY | {"Idempotency-Key": "visit-1"}
        first = await http.post("/v1/cases/case-c/contacts", json=VISIT, headers=keyed)
        assert first.status_code == 201, first.text
        again = await http.post("/v1/cases/case-c/contacts", json=VISIT, headers=keyed)
        assert again.headers["Idempotent-Replayed"] == "true"
        call = {**VISIT, "channel": "phone", "occurred_on": "2026-01-07", "duration_minutes": 15}
        second = await http.post("/v1/cases/case-c/contacts", json=call, headers=DERBY)
        assert second.status_code == 201, second.text

        await reader.read_until(lambda r: len(of_case(r, "ContactLogged", "case-c")) >= 2)
        await reader.settle(1.0)
        logged = of_case(reader.records, "ContactLogged", "case-c")
        assert [e.data for e in logged] == [
            ContactLogged(
                case_id="case-c",
                contact_id=first.json()["contact_id"],
                contact_on=date(2026, 1, 5),
                channel="home_visit",
                duration_minutes=90,
                first=True,
            ).model_dump(mode="json"),
            ContactLogged(
                case_id="case-c",
                contact_id=second.json()["contact_id"],
                contact_on=date(2026, 1, 7),
                channel="phone",
                duration_minutes=15,
                first=False,
            ).model_dump(mode="json"),
        ]
        assert len({e.id for e in logged}) == 2  # the retry emitted nothing
        assert all(e.organisation == "derby-homes" and e.subject == "case-c" for e in logged)


async def test_reviews_completed_once_each_with_their_decision(make_settings, topic_reader) -> None:
    """ "Stage 1 ... review at 12 weeks": due 30 March for a case opened on 5 January."""
    settings = make_settings("support")
    clock = ManualClock(START)
    async with running_support(settings, clock) as (http, casework, _):
        await publish(settings, allocated("case-r", START), allocated("case-x", START))
        await wait_for(lambda: casework.store.get("case-r"))
        await wait_for(lambda: casework.store.get("case-x"))
        reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))

        async def review_of(case_id: str) -> str:
            case = (await http.get(f"/v1/cases/{case_id}", headers=DERBY)).json()
            [review] = case["reviews"]
            assert (review["point"], review["due_on"]) == ("stage_1_week_12", "2026-03-30")
            return str(review["review_id"])

        step_down = {"outcome": "step_down", "completed_by": "worker-1"}
        stepped, closing = await review_of("case-r"), await review_of("case-x")
        clock.set(datetime(2026, 3, 26, 10, tzinfo=UTC))  # four days early
        path = f"/v1/cases/case-r/reviews/{stepped}/complete"
        r = await http.post(path, json=step_down, headers=DERBY)
        assert r.status_code == 200, r.text
        again = await http.post(path, json=step_down, headers=DERBY)
        assert again.status_code == 409  # already completed: nothing new

        clock.set(datetime(2026, 4, 2, 10, tzinfo=UTC))  # three days late, and closed by it
        close = {
            "outcome": "close",
            "completed_by": "worker-1",
            "closure": {
                "reason": "plan_achieved",
                "tenancy_outcome": "not_applicable",
                "closed_by": "leader-1",
            },
        }
        path = f"/v1/cases/case-x/reviews/{closing}/complete"
        r = await http.post(path, json=close, headers=DERBY)
        assert r.status_code == 200 and r.json()["status"] == "closed", r.text
        assert (await http.post(path, json=close, headers=DERBY)).status_code == 409

        await reader.read_until(lambda r: len(of_case(r, "CaseClosed", "case-x")) >= 1)
        await reader.settle(1.0)
        [done] = of_case(reader.records, "ReviewCompleted", "case-r")
        assert done.data == ReviewCompleted(
            case_id="case-r",
            review_id=stepped,
            review_point="stage_1_week_12",
            due_on=date(2026, 3, 30),
            completed_on=date(2026, 3, 26),
            decision="step_down",
            stage=Stage.STAGE_1,
        ).model_dump(mode="json")
        [changed] = of_case(reader.records, "StageChanged", "case-r")
        assert changed.data["stage"] == "stage_2"
        [closed_by_review] = of_case(reader.records, "ReviewCompleted", "case-x")
        assert closed_by_review.data == ReviewCompleted(
            case_id="case-x",
            review_id=closing,
            review_point="stage_1_week_12",
            due_on=date(2026, 3, 30),
            completed_on=date(2026, 4, 2),
            decision="close",
            stage=Stage.STAGE_1,
        ).model_dump(mode="json")
        # Published before the case's closure, on the case's own key (so in that order).
        kinds = ("ReviewCompleted", "CaseClosed")
        order = [e.short_type for e in envelopes(reader.records) if e.subject == "case-x"]
        assert [kind for kind in order if kind in kinds] == list(kinds)
