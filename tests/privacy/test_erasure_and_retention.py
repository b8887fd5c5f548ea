"""Erasure on request and by the retention schedule, on the real broker and database: the
request goes out on privacy.requests, each service's answer is recorded, erasing a person
deletes their bundles here, and a closed case falls due under the organisation's schedule."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.privacy.store import ANSWERS
from shared.codes import ClosureReason, Route
from shared.events.case_events import CaseClosed
from shared.events.envelope import Envelope, make_event
from shared.events.privacy_events import PRIVACY_CONTRIBUTORS
from shared.topics import Topic, topic_name
from tests.helpers import publish, wait_for
from tests.privacy.conftest import (
    ADMIN,
    AUDITOR,
    DPO,
    ORG,
    OTHER_DPO,
    START,
    PrivacyApp,
    answer_access,
    answer_erasure,
    envelopes,
)

pytestmark = pytest.mark.integration


def _erasures(records: list, basis: str) -> list:
    return [e for e in envelopes(records, "ErasureRequested") if e.data["basis"] == basis]


async def test_erasure_is_asked_of_every_service_and_deletes_the_bundles_here(
    privacy: PrivacyApp, topic_reader
) -> None:
    requests = await topic_reader(topic_name(Topic.PRIVACY_REQUESTS, privacy.settings.topic_prefix))
    # A fulfilled subject-access request first: its bundle is held here.
    sar = await privacy.call("POST", "/subject-access-requests", DPO, 202, {"person_id": "p-9"})
    await requests.read_until(lambda r: len(envelopes(r, "SubjectAccessRequested")) >= 1)
    (asked,) = envelopes(requests.records, "SubjectAccessRequested")
    await answer_access(privacy.settings, asked, {})
    status = f"/subject-access-requests/{sar['request_id']}"

    async def fulfilled() -> bool:
        return (await privacy.call("GET", status, DPO, 200))["status"] == "fulfilled"

    await wait_for(fulfilled)
    assert await privacy.runtime.db[ANSWERS].count_documents({"person_id": "p-9"}) == len(
        PRIVACY_CONTRIBUTORS
    )

    body = {"person_id": "p-9", "reason": "Article 17(1)(b): consent withdrawn"}
    accepted = await privacy.call("POST", "/erasure-requests", DPO, 202, body)
    request_id = accepted["request_id"]
    await requests.read_until(lambda r: len(_erasures(r, "request")) >= 1)
    (erase,) = _erasures(requests.records, "request")
    assert erase.data["person_id"] == "p-9" and erase.data["scope"] == "person"
    assert erase.data["request_id"] == request_id and erase.organisation == ORG

    # The privacy service's own copy is gone; the request's dates and status stay.
    assert await privacy.runtime.db[ANSWERS].count_documents({"person_id": "p-9"}) == 0
    kept = await privacy.call("GET", status, DPO, 200)
    assert kept["status"] == "fulfilled" and kept["bundle_erased_at"]
    await privacy.call("GET", f"{status}/bundle", DPO, 410)

    await answer_erasure(privacy.settings, erase)
    await answer_erasure(privacy.settings, erase, ("referral",))  # redelivered: once
    path = f"/erasure-requests/{request_id}"

    async def completed() -> dict | None:
        found: dict = await privacy.call("GET", path, AUDITOR, 200)
        return found if found["completed_at"] else None

    view = await wait_for(completed)
    assert len(view["carried_out"]) == len(PRIVACY_CONTRIBUTORS) and view["awaiting"] == []
    assert view["carried_out"]["referral"]["erased"] == {"record": 1}
    assert view["carried_out"]["agreements"]["deidentified"] == {"case": 1}
    assert view["bundles_erased"] == len(PRIVACY_CONTRIBUTORS) and view["basis"] == "request"
    await privacy.call("GET", path, OTHER_DPO, 404)
    listed = await privacy.call("GET", "/erasure-requests?person_id=p-9", AUDITOR, 200)
    assert [r["request_id"] for r in listed["requests"]] == [request_id]

    refused = await privacy.call("POST", "/erasure-requests", DPO, 422, {**body, "scope": "cases"})
    assert refused["errors"][0]["field"] == "case_ids"
    await privacy.call("POST", "/erasure-requests", AUDITOR, 403, body)


def _closed(case_id: str, person_id: str, at: datetime) -> Envelope:
    return make_event(
        CaseClosed(
            case_id=case_id,
            person_id=person_id,
            route=Route.SUPPORT,
            reason=ClosureReason.PLAN_ACHIEVED,
            closed_at=at,
        ),
        source="support",
        organisation=ORG,
    )


async def test_a_closed_case_falls_due_under_the_schedule(
    privacy: PrivacyApp, topic_reader
) -> None:
    requests = await topic_reader(topic_name(Topic.PRIVACY_REQUESTS, privacy.settings.topic_prefix))
    schedule = await privacy.call("GET", "/retention-schedule", AUDITOR, 200)
    assert schedule["periods"]["casework"] == {"days": None, "years": 6}
    assert schedule["set_by_organisation"] == []

    # Closed under the default: nothing due for six years.
    await publish(privacy.settings, _closed("case-old", "p-old", START - timedelta(days=1)))
    timers = privacy.runtime.schedulers[0].store.collection

    async def planned() -> bool:
        return await timers.count_documents({"subject": "case-old", "fired": False}) == 1

    await wait_for(planned)

    # Casework now erased at closure: the case already closed is re-planned, a new one due.
    put = {"periods": {"casework": {"days": 0}, "deliveries": {"years": 2}}}
    schedule = await privacy.call("PUT", "/retention-schedule", ADMIN, 200, put)
    assert schedule["periods"]["casework"] == {"days": 0, "years": None}
    assert schedule["periods"]["contact-details"] == {"days": None, "years": 6}
    assert schedule["set_by_organisation"] == ["casework", "deliveries"]
    await publish(privacy.settings, _closed("case-new", "p-new", START))

    def due(records: list) -> dict:
        return {e.data["case_ids"][0]: e for e in _erasures(records, "retention")}

    await requests.read_until(lambda r: {"case-old", "case-new"} <= set(due(r)))
    for case_id, person_id in (("case-old", "p-old"), ("case-new", "p-new")):
        event = due(requests.records)[case_id]
        assert event.data["scope"] == "cases" and event.data["person_id"] == person_id
        assert event.data["record_types"] == ["casework"] and event.organisation == ORG
    await requests.settle(1.0)
    assert len(_erasures(requests.records, "retention")) == 2  # once each

    listed = await privacy.call("GET", "/erasure-requests", DPO, 200)
    assert {r["basis"] for r in listed["requests"]} == {"retention"}
    assert sorted(r["case_ids"][0] for r in listed["requests"]) == ["case-new", "case-old"]


@pytest.mark.parametrize(
    ("periods", "field"),
    [
        ({"casework": {"days": -1}}, "periods.casework.days"),
        ({"casework": {"years": 101}}, "periods.casework.years"),
        ({"casework": {"days": 1, "years": 1}}, "periods.casework"),
        ({"casework": {"years": True}}, "periods.casework.years"),
        ({"letters": {"days": 1}}, "periods.letters"),
    ],
)
async def test_the_schedule_is_validated_field_by_field(
    privacy: PrivacyApp, periods: dict, field: str
) -> None:
    refused = await privacy.call("PUT", "/retention-schedule", DPO, 422, {"periods": periods})
    assert refused["errors"][0]["field"].startswith(field), refused
    await privacy.call("PUT", "/retention-schedule", AUDITOR, 403, {"periods": {}})
