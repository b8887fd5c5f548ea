"""The notifications service answers subject access and erasure for what it holds itself (issue
16): contact copies, case facts, the delivery log and stored letters, against the real broker
and database (and the real SMTP and provider sinks on the other side of its channels)."""

from __future__ import annotations

import base64

import pytest

from shared.codes import Channel
from shared.consent import ConsentScope, give
from shared.events.consent_events import ConsentChanged
from shared.events.envelope import make_event
from shared.topics import Topic, topic_name
from tests.helpers import publish
from tests.notifications.conftest import (  # noqa: F401  the notifications tests' fixtures
    ORG,
    Harness,
    eventually,
    harness,
    notification_settings,
    provider,
    smtp,
)
from tests.notifications.events import allocated, closed, contacts, referral
from tests.privacy.answering import (
    access_request,
    answer,
    consumed,
    erasure_request,
    values_found,
)

pytestmark = pytest.mark.integration

PERSON = "p-zq"
CASE = "case-zq"
IDENTIFYING = [
    "Zephyrine", "Quillfeather", "zephyrine.q@example.org", "07700900987", "Larkspur", "DE9 9ZZ",
]  # fmt: skip


async def test_notifications_answers_access_and_erases_the_person(
    harness: Harness,  # noqa: F811  the notifications tests' fixture
    topic_reader,
) -> None:
    h = harness
    settings = h.settings
    put = await h.api(
        "PUT", "/v1/settings", "key-probation", json={"notice_email": "notices@probation.example"}
    )
    assert put.status_code == 200, put.text
    await h.publish(
        referral(CASE, PERSON),
        contacts(
            CASE,
            PERSON,
            display_name="Zephyrine Quillfeather",
            email="zephyrine.q@example.org",
            mobile="07700900987",
            postal_address=["7 Larkspur Mews", "Derby", "DE9 9ZZ"],
            preferred_channels=["letter"],
            consented_channels=["letter", "email"],
            share_with=["probation-east"],
        ),
        contacts("case-bo", "p-bo", display_name="Bartholomew Ogunsanya", email="bart@example.org"),
    )
    store = h.runtime.store
    await eventually(lambda: store.contacts.find_one({"_id": f"{CASE}|{PERSON}"}))
    # The case's consent, as the referral service tells it (kept as a copy here).
    consent = give(
        None, case_id=CASE, person_id=PERSON, organisation=ORG,
        scope=ConsentScope(
            organisations=("probation-east", "leeds-council"),
            channels=(Channel.LETTER, Channel.EMAIL),
        ),
        by="casey.worker", at=h.clock.now(),
    )  # fmt: skip
    await h.publish(make_event(ConsentChanged.of(consent), source="referral", organisation=ORG))
    await eventually(lambda: store.consents.find_one({"_id": CASE}))
    await h.publish(allocated(CASE, PERSON))
    await h.publish(closed(CASE, PERSON, involved=[ORG, "probation-east"]))
    # The closure letter stored; the notice to probation sent.
    await eventually(lambda: _count(store.letters, 1))
    await eventually(lambda: _mailed(h, "notices@probation.example"))
    await eventually(lambda: store.contacts.find_one({"_id": "case-bo|p-bo"}))
    contacts_topic = topic_name(Topic.CONTACTS, settings.topic_prefix)
    await consumed(settings, f"{settings.topic_prefix}notifications", [contacts_topic])
    responses = await topic_reader(topic_name(Topic.PRIVACY_RESPONSES, settings.topic_prefix))

    sar = access_request(ORG, PERSON)
    await publish(settings, sar)
    bundle = await answer(responses, sar, "notifications")
    by_kind: dict[str, list[dict]] = {}
    for record in bundle["records"]:
        by_kind.setdefault(record["kind"], []).append(record)
    (held_consent,) = by_kind["consent"]
    assert held_consent["record_id"] == CASE
    assert held_consent["held_in"] == "notifications/consents"
    assert held_consent["data"]["scope"]["organisations"] == ["leeds-council", "probation-east"]
    (contact,) = by_kind["contact details"]
    assert contact["data"]["email"] == "zephyrine.q@example.org"
    assert contact["held_in"] == "notifications/contacts"
    assert contact["shared_with"] == [
        "probation-east: case notices, under the person's consent to share"
    ]
    letters = await store.letters.count_documents({})
    assert len(by_kind["letter"]) == letters
    pdf = base64.b64decode(by_kind["letter"][0]["data"]["pdf_base64"])
    assert pdf.startswith(b"%PDF")
    deliveries = by_kind["delivery"]
    assert all(d["data"]["case_id"] == CASE for d in deliveries)
    to_probation = [d for d in deliveries if d["shared_with"]]
    partners = {s.split(":")[0] for d in to_probation for s in d["shared_with"]}
    assert partners == {"probation-east", "leeds-council"}  # the notice, and the referrer
    client = [d for d in deliveries if d["data"]["recipient_role"] == "client"]
    assert any("Zephyrine" in str(d["data"].get("letter_address")) for d in client)
    workers = [d for d in deliveries if d["data"]["recipient_role"] == "caseworker"]
    assert workers and all("address" not in d["data"] for d in workers)

    held = await values_found(h.runtime.db, IDENTIFYING)
    # The scan sees them while held, inside the letters' PDFs too.
    assert {"contacts", "deliveries", "letters"} <= set(held["zephyrine"])

    erase = erasure_request(ORG, PERSON)
    await publish(settings, erase)
    done = await answer(responses, erase, "notifications")
    assert done["erased"]["contact details"] == 1 and done["erased"]["letter"] == letters
    assert done["erased"]["consent"] == 1
    assert await store.consents.find_one({"_id": CASE}) is None
    assert done["deidentified"]["delivery"] == len(deliveries)
    assert done["erased"].get("consumed topic partitions", 0) >= 1

    async def clean() -> bool:
        return not await values_found(h.runtime.db, IDENTIFYING)

    await eventually(clean)
    kept = await h.deliveries(case_id=CASE)
    assert len(kept) == len(deliveries)
    assert all(d["channel"] is not None or d["status"] == "suppressed" for d in kept)
    assert all(d["template"] and d["status"] and d["created_at"] for d in kept)
    assert all("body" not in d and d["address"] is None for d in kept)
    # Another person is untouched.
    assert await store.contacts.find_one({"_id": "case-bo|p-bo"}) is not None

    again = erasure_request(ORG, PERSON)
    await publish(settings, again)
    repeat = await answer(responses, again, "notifications")
    assert repeat["deidentified"] == {} and "letter" not in repeat["erased"]
    assert "consent" not in repeat["erased"]
    assert not await values_found(h.runtime.db, IDENTIFYING)

    # contacts.restricted no longer holds the consumed records (read from the beginning).
    reader = await topic_reader(contacts_topic)
    await reader.settle(2.0)
    text = "\n".join(r.value.decode() for r in reader.records).lower()
    assert not [v for v in IDENTIFYING if v.lower() in text]


async def _count(collection, n: int) -> bool:
    return await collection.count_documents({}) >= n


async def _mailed(h: Harness, address: str) -> bool:
    return bool(h.smtp.to(address))
