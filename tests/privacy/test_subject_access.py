"""Subject access end to end on the real broker and database: a data protection officer asks,
every service answers (published here as the services would), the request is fulfilled, the
bundle is there as JSON and PDF, and the answers are deleted from their topic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.privacy.store import ANSWERS
from shared.events.privacy_events import PRIVACY_CONTRIBUTORS, HeldRecord
from shared.kafka import settings_security
from shared.topics import Topic, topic_name
from tests.helpers import pdf_text, publish, wait_for
from tests.privacy.conftest import (
    AUDITOR,
    CASEWORKER,
    DPO,
    ORG,
    OTHER_DPO,
    START,
    PrivacyApp,
    answer_access,
    envelopes,
)

pytestmark = pytest.mark.integration

NAME = "Zoë Ćwikła-Дмитриев"
HELD = {
    "referral": [
        HeldRecord(
            kind="referral",
            record_id="ref-1",
            held_in="referral/referrals",
            held_since=START - timedelta(days=400),
            last_changed=START - timedelta(days=30),
            data={"name": NAME, "date_of_birth": "1990-04-01", "needs": ["housing"]},
            shared_with=["derby-homes: arrears prevention agreement agr-1"],
        )
    ],
    "support": [
        HeldRecord(
            kind="case",
            record_id="case-1",
            held_in="support/cases",
            data={"stage": "stage_2", "contacts": 3},
        )
    ],
    "audit": [
        HeldRecord(
            kind="access",
            record_id="case-1",
            held_in="audit/entries",
            data={"who": "derby-council caseworker w1", "action": "cases.read"},
        )
    ],
    "agreements": [
        HeldRecord(
            kind="agreement",
            record_id="agr-1",
            held_in="agreements/agreements",
            data={"with": "derby-homes", "purpose": "arrears-prevention"},
        )
    ],
}


async def _status(privacy: PrivacyApp, request_id: str, headers: object = DPO) -> dict:
    found: dict = await privacy.call("GET", f"/subject-access-requests/{request_id}", headers, 200)
    return found


async def _low_watermarks_at_end(privacy: PrivacyApp, infra_topic: str) -> bool:
    settings = privacy.settings
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka,
        **settings_security(settings),
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(infra_topic, p)
            for p in consumer.partitions_for_topic(infra_topic) or set()
        ] or [TopicPartition(infra_topic, p) for p in range(settings.topic_partitions)]
        low = await consumer.beginning_offsets(partitions)
        high = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return sum(high.values()) > 0 and all(low[tp] == high[tp] for tp in partitions)


async def test_a_request_is_answered_by_every_service_and_bundled(
    privacy: PrivacyApp, topic_reader
) -> None:
    prefix = privacy.settings.topic_prefix
    requests = await topic_reader(topic_name(Topic.PRIVACY_REQUESTS, prefix))
    body = {"person_id": "p-1", "requester_note": "letter of 30 January"}
    accepted = await privacy.call("POST", "/subject-access-requests", DPO, 202, body)
    assert accepted["due_on"] == "2026-02-28"  # received 31 January: the month's last day
    request_id = accepted["request_id"]

    await requests.read_until(lambda r: len(envelopes(r, "SubjectAccessRequested")) >= 1)
    (asked,) = envelopes(requests.records, "SubjectAccessRequested")
    assert asked.data["person_id"] == "p-1" and asked.organisation == ORG
    assert asked.data["request_id"] == request_id

    status = await _status(privacy, request_id)
    assert status["status"] == "received"
    assert len(status["awaiting"]) == len(PRIVACY_CONTRIBUTORS)
    assert "requester_note" not in status  # status carries no personal data
    bundle = f"/subject-access-requests/{request_id}/bundle"
    await privacy.call("GET", bundle, DPO, 409)  # not yet

    # Six services answer, one of them twice (a redelivery): no second copy.
    first = await answer_access(privacy.settings, asked, HELD, ("referral", "allocation",
                                "support", "reconnection", "notifications", "audit"))  # fmt: skip
    await publish(privacy.settings, first[0])

    async def six() -> bool:
        return len((await _status(privacy, request_id))["answered"]) == 6

    await wait_for(six)
    status = await _status(privacy, request_id)
    assert status["status"] == "in-progress"
    assert status["awaiting"] == ["agreements", "outcomes"]
    await answer_access(privacy.settings, asked, HELD, ("agreements", "outcomes"))

    async def fulfilled() -> dict | None:
        found = await _status(privacy, request_id)
        return found if found["status"] == "fulfilled" else None

    status = await wait_for(fulfilled)
    assert status["fulfilled_at"] and status["overdue"] is False and status["awaiting"] == []
    assert status["answered"]["referral"]["records"] == 1
    answers = await privacy.runtime.db[ANSWERS].count_documents({"request_id": request_id})
    assert answers == len(PRIVACY_CONTRIBUTORS)

    answer = await privacy.call("GET", bundle, DPO, 200)
    services = [s["service"] for s in answer["services"]]
    assert services == ["referral", "allocation", "support", "reconnection", "notifications",
                        "audit", "agreements", "outcomes"]  # fmt: skip
    referral = answer["services"][0]["records"][0]
    assert referral["data"]["name"] == NAME and referral["held_in"] == "referral/referrals"
    assert referral["held_since"].startswith("2024-12-27")
    assert answer["records"] == 4
    assert answer["shared_with"]["organisations"] == [
        "derby-homes: arrears prevention agreement agr-1"
    ]
    assert answer["shared_with"]["seen_or_changed"][0]["data"]["action"] == "cases.read"
    assert answer["shared_with"]["agreements"][0]["record_id"] == "agr-1"

    pdf = await privacy.call("GET", f"{bundle}.pdf", DPO, 200)
    assert pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert NAME in text and "p-1" in text and ORG in text and "audit" in text

    # The answers carried the person's data: deleted from their topic once stored.
    responses = topic_name(Topic.PRIVACY_RESPONSES, prefix)

    async def purged() -> bool:
        privacy.clock.advance(timedelta(seconds=40))  # the purge timers come due
        return await _low_watermarks_at_end(privacy, responses)

    await wait_for(purged, timeout=30, interval=0.5)


async def test_deadline_overdue_and_who_may_see_what(privacy: PrivacyApp) -> None:
    late = await privacy.call(
        "POST", "/subject-access-requests", DPO, 202,
        {"person_id": "p-2", "received_on": "2026-01-02"},
    )  # fmt: skip
    assert late["due_on"] == "2026-02-02"
    on_time = await privacy.call("POST", "/subject-access-requests", DPO, 202, {"person_id": "p-3"})
    assert (await _status(privacy, late["request_id"]))["overdue"] is False
    privacy.clock.set(datetime(2026, 2, 3, 9, 0, tzinfo=UTC))
    assert (await _status(privacy, late["request_id"]))["overdue"] is True
    assert (await _status(privacy, on_time["request_id"]))["overdue"] is False
    listed = await privacy.call("GET", "/subject-access-requests?person_id=p-2", DPO, 200)
    assert [r["request_id"] for r in listed["requests"]] == [late["request_id"]]

    # A receipt date in the future, or a lone surrogate: 422 naming the field.
    refused = await privacy.call(
        "POST",
        "/subject-access-requests",
        DPO,
        422,
        {"person_id": "p-4", "received_on": "2026-03-01"},
    )
    assert refused["errors"][0]["field"] == "received_on"
    raw = b'{"person_id": "p-4", "requester_note": "\\ud800"}'  # JSON escape, lone surrogate
    response = await privacy.http.post(
        "/v1/subject-access-requests",
        content=raw,
        headers={**DPO, "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    refused = response.json()
    assert refused["errors"][0]["field"] == "requester_note"

    request_id = late["request_id"]
    for path in ("", "/bundle", "/bundle.pdf"):
        await privacy.call("GET", f"/subject-access-requests/{request_id}{path}", OTHER_DPO, 404)
    await privacy.call("GET", f"/subject-access-requests/{request_id}", CASEWORKER, 403)
    await privacy.call("POST", "/subject-access-requests", CASEWORKER, 403, {"person_id": "p-5"})
    assert (await _status(privacy, request_id, AUDITOR))["status"] == "received"
    await privacy.call("GET", "/subject-access-requests", AUDITOR, 200)
    await privacy.call("GET", f"/subject-access-requests/{request_id}/bundle", AUDITOR, 403)
    await privacy.call("GET", f"/subject-access-requests/{request_id}/bundle.pdf", AUDITOR, 403)


async def test_making_fulfilling_and_reading_are_on_the_audit_trail(
    privacy: PrivacyApp, topic_reader
) -> None:
    prefix = privacy.settings.topic_prefix
    audit = await topic_reader(topic_name(Topic.AUDIT, prefix))
    requests = await topic_reader(topic_name(Topic.PRIVACY_REQUESTS, prefix))
    accepted = await privacy.call(
        "POST", "/subject-access-requests", DPO, 202, {"person_id": "p-6"}
    )
    request_id = accepted["request_id"]
    await requests.read_until(lambda r: len(envelopes(r, "SubjectAccessRequested")) >= 1)
    (asked,) = envelopes(requests.records, "SubjectAccessRequested")
    await answer_access(privacy.settings, asked, {})

    async def fulfilled() -> bool:
        return (await _status(privacy, request_id))["status"] == "fulfilled"

    await wait_for(fulfilled)
    await privacy.call("GET", f"/subject-access-requests/{request_id}/bundle", DPO, 200)

    def entries(records: list) -> list:
        return [e for e in envelopes(records, "AuditRecorded") if e.data["record_id"] == request_id]

    await audit.read_until(lambda r: len(entries(r)) >= 3)
    actions = sorted(e.data["action"] for e in entries(audit.records))
    assert actions == ["privacy.requests", "privacy.requests", "subject-access.fulfilled"]
