"""The delivery log on the shared unit of work: a wave of sends recorded in one bulk write, an
outcome recorded once however often it is recorded again, and the stored layout unchanged."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.notifications.store import SENDING, SENT
from shared.events.catalogue import NotificationSent
from shared.kafka import ensure_topics
from shared.topics import Topic, topic_name
from tests.notifications.conftest import Harness, eventually
from tests.notifications.events import allocated, contacts

pytestmark = pytest.mark.integration

LAYOUT = {
    "_id",
    "organisation",
    "case_id",
    "trigger_event_id",
    "trigger_event_type",
    "correlation_id",
    "recipient_role",
    "recipient_key",
    "recipient_org",
    "channel",
    "address",
    "template",
    "urgent",
    "created_at",
    "updated_at",
    "attempts",
    "cycle_attempts",
    "attempt_log",
    "status",
    "due_at",
    "subject",
    "body",
    "letter",
    "provider_template_id",
}


@pytest.fixture
async def quiet(notification_settings, smtp, provider) -> AsyncIterator[Harness]:
    """A harness whose delivery worker does not run on its own: the test runs its rounds."""
    h = Harness(notification_settings(smtp.port), smtp, provider)
    await ensure_topics(h.settings)
    await h.broker.connect()
    await h.runtime.start(background_loops=False)
    yield h
    await h.stop()


async def test_a_wave_is_recorded_in_one_bulk_write_and_each_outcome_once(
    quiet: Harness, topic_reader, monkeypatch
) -> None:
    h = quiet
    store = h.runtime.store
    await h.publish(allocated("case-w"))  # no contact details: two workers by email

    async def planned() -> bool:
        return len(await h.deliveries(case_id="case-w", status="pending")) == 2

    await eventually(planned)
    (pending, *_) = await h.deliveries(case_id="case-w", status="pending")
    assert set(pending) - {"version", "_inbox"} == LAYOUT  # the log's shape, bookkeeping aside

    bulk: list[int] = []
    real_bulk_write = store.deliveries.bulk_write

    async def counted_bulk_write(requests: list[Any], **kw: Any) -> Any:
        bulk.append(len(requests))
        return await real_bulk_write(requests, **kw)

    monkeypatch.setattr(store.deliveries, "bulk_write", counted_bulk_write)
    assert await h.runtime.worker.run_once() == 2
    assert bulk == [2], "the wave's two sends recorded in one bulk write"
    assert len(h.smtp.messages) == 2
    sent = await h.deliveries(case_id="case-w", channel="email")  # the client: no consent
    assert all(d["status"] == SENT and d["attempts"] == 1 and not d["_outbox"] for d in sent)

    # The same outcomes recorded again (a replica whose lease ran out records late): nothing.
    records = {d["_id"]: store.delivery_records.from_document(d) for d in sent}
    await store.deliveries.update_many(
        {"case_id": "case-w", "channel": "email"}, {"$set": {"status": SENDING}}
    )
    uow = store.unit()
    for delivery in records.values():
        event = h.runtime.worker._event(delivery, NotificationSent, "sent")
        store.record_sent(uow, delivery, "again", event, h.clock.now())
    committed = await uow.commit()
    assert committed.repeats == set(records) and not committed.written
    again = await h.deliveries(case_id="case-w", channel="email")
    assert all(d["attempts"] == 1 and len(d["attempt_log"]) == 1 for d in again)

    reader = await topic_reader(topic_name(Topic.NOTIFICATION_EVENTS, h.settings.topic_prefix))
    await reader.read_until(lambda r: len(r) >= 2)
    published = await reader.settle(1.0)
    assert sorted(json.loads(r.value)["notification_id"] for r in published) == sorted(records)


async def test_projections_keep_their_layout_and_a_repeat_changes_nothing(
    quiet: Harness,
) -> None:
    h = quiet
    store = h.runtime.store
    shared = contacts("case-p", email="sam@example.org", consented_channels=["email"])
    event = allocated("case-p")
    await h.publish(shared, event, shared, event)  # each delivered twice

    async def learned() -> bool:
        case = await store.cases.find_one({"_id": "case-p"})
        contact = await store.contacts.find_one({"_id": "case-p|p-1"})
        return bool(case and contact and case.get("lead_worker_email"))

    await eventually(learned)
    await eventually(lambda: _planned(h, "case-p", 3))
    case = await store.cases.find_one({"_id": "case-p"})
    assert case is not None and case["_inbox"] == [event.id] and case["version"] == 1
    assert case["open"] is True and case["person_id"] == "p-1"
    assert "case_id" not in case  # the key is the _id alone, as before
    contact = await store.contacts.find_one({"_id": "case-p|p-1"})
    assert (
        contact is not None
        and contact["_inbox"] == [shared.id]
        and contact["email"] == "sam@example.org"
    )
    assert contact["mobile"] is None  # a contact's fields are replaced whole, unset ones too
    assert len(await h.deliveries(case_id="case-p")) == 3


async def _planned(h: Harness, case_id: str, n: int) -> bool:
    return len(await h.deliveries(case_id=case_id)) >= n
