"""Phase 5's presentation pack, kept and delivered: generated when it is due, kept in the
reconnection service's own database, emailed by the notifications service to the destination's
Housing Options officer with the PDF attached, and the delivery recorded on the case - on the
real broker and database, with a real SMTP server on the other side."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from devstack.sinks import MailSink
from services.notifications.app import NotificationRuntime
from services.notifications.app import create_app as create_notifications
from services.notifications.settings import NotificationSettings
from shared.clock import ManualClock
from shared.topics import Topic, topic_name
from tests.helpers import wait_for
from tests.reconnection.harness import DERBY, Harness, events_of, ready_for_a_date

pytestmark = pytest.mark.integration

OFFICER = "housing.options@leeds.example.org"
# The day before the presentation, when the pack is due (09:00 UTC).
DAY_BEFORE = datetime(2026, 3, 9, 9, 0, 1, tzinfo=UTC)


@pytest.fixture
async def notifications(make_settings) -> AsyncIterator[tuple[NotificationRuntime, MailSink]]:
    """The notifications service in-process, its email going to a real SMTP server."""
    smtp = MailSink().start()
    settings = NotificationSettings(
        **{
            **make_settings("notifications").model_dump(),
            "smtp_port": smtp.port,
            "smtp_timeout_seconds": 3.0,
            "delivery_poll_seconds": 0.1,
            "cache_seconds": 0.0,
        }
    )
    app = create_notifications(settings, ManualClock(DAY_BEFORE), manage_runtime=False)
    runtime: NotificationRuntime = app.state.runtime
    await runtime.start()
    try:
        yield runtime, smtp
    finally:
        await runtime.mongo.drop_database(settings.database_name)
        await runtime.stop()
        smtp.stop()


async def _with_officer(h: Harness, cases: str, email: str | None) -> None:
    contact: dict[str, Any] = {
        "area": "Hull",
        "contacted_on": "2026-03-02",
        "contact_name": "A. Officer",
        "organisation": "hull-council",
    }
    if email:
        contact["email"] = email
    await h.call("POST", f"{cases}/authority-contacts", contact)


async def test_the_pack_is_kept_and_emailed_to_housing_options_a_day_in_advance(
    harness: Harness, notifications: tuple[NotificationRuntime, MailSink], topic_reader
) -> None:
    """Phase 5: "A 'presentation pack' of information and documents, should be sent to the
    Housing Options Officer or Manager by email a day in advance of the presentation"."""
    h, (_, smtp) = harness, notifications
    cases = await ready_for_a_date(h, "ref-pack-1")
    await _with_officer(h, cases, OFFICER)
    view = await h.call("PUT", f"{cases}/reconnection-date", {"reconnection_date": "2026-03-10"})
    assert view["presentation_pack_goes_to"]["email"] == OFFICER
    await h.call("GET", f"{cases}/presentation-pack/document", expect=404)  # not yet made

    h.clock.set(DAY_BEFORE)
    assert await h.fire_due() == 1

    # Kept: the case names the document, the service's own database holds its PDF.
    view = await h.call("GET", cases)
    document = view["case"]["pack_document"]
    assert document["reconnection_date"] == "2026-03-10"
    assert document["recipient"]["email"] == OFFICER
    assert [i["item"] for i in document["items"]] == [
        "id",
        "proof_of_benefits",
        "medical_information",
        "address_history",
        "priority_need_evidence",
        "covering_letter",
    ]
    assert "Part VII" in document["letter"] and "Signed: worker-1" in document["letter"]
    kept = await h.runtime.db["presentation_packs"].find_one({"_id": document["document_id"]})
    assert kept is not None and kept["case_id"] == "ref-pack-1"
    response = await h.http.get(f"/v1{cases}/presentation-pack/document", headers=DERBY)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert response.content == bytes(kept["pdf"])

    # Delivered: one email to the officer, the kept PDF attached, sent the day before.
    async def emailed() -> list[Any]:
        return smtp.to(OFFICER)

    messages = await wait_for(emailed)
    assert len(messages) == 1
    assert "Presentation pack" in str(messages[0]["Subject"])
    attachments = [part.get_content() for part in messages[0].iter_attachments()]
    assert attachments == [response.content]

    # Recorded on the case: the notifications service's report, a day in advance.
    view = await h.wait_case("ref-pack-1", lambda v: v["case"]["pack_delivery"] is not None)
    delivery = view["case"]["pack_delivery"]
    assert (delivery["status"], delivery["channel"], delivery["in_time"]) == ("sent", "email", True)
    assert delivery["at"].startswith("2026-03-09")

    # The spine says the pack is due, by its document's id: ids and dates, no letter, no PDF
    # (the outcomes are rebuilt from the spine, which is never purged).
    reader = await topic_reader(topic_name(Topic.RECONNECTION_EVENTS, h.settings.topic_prefix))
    records = await reader.read_until(lambda r: len(r) >= 1)
    due = events_of(records, "PresentationPackDue")[0]["data"]
    assert due["document_id"] == document["document_id"]
    assert due["deliver_by"].startswith("2026-03-10T00:00")
    assert not {"pdf_base64", "covering_letter", "recipient_email"} & set(due)
    # The pack itself went on the restricted topic, for notifications alone.
    restricted = await topic_reader(topic_name(Topic.CONTACTS, h.settings.topic_prefix))
    records = await restricted.read_until(
        lambda r: bool(events_of(r, "PresentationPackForDelivery"))
    )
    pack = events_of(records, "PresentationPackForDelivery")[0]["data"]
    assert pack["document_id"] == document["document_id"]
    assert pack["recipient_email"] == OFFICER
    assert base64.b64decode(pack["pdf_base64"]) == response.content


async def test_a_pack_with_no_email_for_the_destination_is_kept_not_delivered(
    harness: Harness,
) -> None:
    h = harness
    cases = await ready_for_a_date(h, "ref-pack-2")
    await _with_officer(h, cases, None)
    view = await h.call("PUT", f"{cases}/reconnection-date", {"reconnection_date": "2026-03-10"})
    assert view["presentation_pack_goes_to"]["email"] is None  # the caseworker can see it
    h.clock.set(DAY_BEFORE)
    assert await h.fire_due() == 1
    view = await h.call("GET", cases)
    assert view["case"]["pack_document"]["recipient"]["email"] is None
    assert view["case"]["pack_delivery"] is None
    response = await h.http.get(f"/v1{cases}/presentation-pack/document", headers=DERBY)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
