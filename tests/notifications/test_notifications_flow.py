"""The notifications service over the real broker, database, SMTP server and HTTP servers."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from devstack.sinks import MailSink
from services.notifications.channels.notify import split_api_key
from services.notifications.webhook_signing import verify
from shared.topics import Topic, topic_name
from tests.helpers import pdf_text
from tests.notifications.conftest import NOTIFY_KEY, Harness, eventually
from tests.notifications.events import allocated, at_risk, closed, contacts, referral, review_due

pytestmark = pytest.mark.integration

CASEWORKER = "casey.worker@derby.example"
TEAM_LEADER = "terry.leader@derby.example"


async def contact_stored(h: Harness, case_id: str, person_id: str = "p-1", version: int = 1):
    async def stored() -> bool:
        doc = await h.runtime.store.contacts.find_one({"_id": f"{case_id}|{person_id}"})
        return doc is not None and len(doc.get("_inbox", [])) >= version

    await eventually(stored)


async def test_case_allocated_emails_client_and_workers_exactly_once(
    harness: Harness, topic_reader
) -> None:
    h = harness
    await h.publish(
        contacts(
            "case-a",
            email="sam@example.org",
            preferred_channels=["email"],
            consented_channels=["email"],
        )
    )
    await contact_stored(h, "case-a")
    event = allocated("case-a")
    await h.publish(event)
    await eventually(lambda: _count(h.smtp, 3))

    (intro,) = h.smtp.to("sam@example.org")
    assert intro["Subject"] == "Your support worker from derby-council"
    text = intro.get_content()
    assert "Hello Sam Client" in text and CASEWORKER in text
    (worker,) = h.smtp.to(CASEWORKER)
    assert worker["Subject"] == "New case allocated to you - case-a"
    assert "Sam Client" in worker.get_content() and TEAM_LEADER in worker.get_content()
    (leader,) = h.smtp.to(TEAM_LEADER)
    assert CASEWORKER in leader.get_content()

    # The same event delivered again (and once more) sends nothing.
    await h.publish(event, event)
    reader = await topic_reader(topic_name(Topic.NOTIFICATION_EVENTS, h.settings.topic_prefix))
    await reader.read_until(lambda r: len(r) >= 3)
    await reader.settle(1.5)
    assert len(h.smtp.messages) == 3
    sent = [json.loads(r.value) for r in reader.records]
    assert {s["recipient_role"] for s in sent} == {"client", "caseworker", "team_leader"}
    assert {dict(r.headers)["ce_type"] for r in reader.records} == {b"hearth.NotificationSent.v1"}
    assert len(await h.deliveries(trigger_event_id=event.id)) == 3

    # The delivery log, for the case's organisation only.
    log = (await h.api("GET", "/v1/deliveries", params={"case_id": "case-a"})).json()
    assert log["count"] == 3
    assert all(d["status"] == "sent" and d["attempts"] == 1 for d in log["items"])
    assert all(d["attempt_log"][0]["outcome"] == "sent" for d in log["items"])
    other = await h.api("GET", "/v1/deliveries", "key-leeds", params={"case_id": "case-a"})
    assert other.json()["count"] == 0
    one = log["items"][0]["id"]
    assert (await h.api("GET", f"/v1/deliveries/{one}", "key-leeds")).status_code == 404
    assert (await h.api("POST", f"/v1/deliveries/{one}/resend")).status_code == 409
    assert (await h.api("GET", "/v1/deliveries/not-an-id")).status_code == 422


async def test_smtp_down_is_retried_then_parked_then_resent(
    notification_settings, provider, topic_reader
) -> None:
    smtp = MailSink()  # not started: the port refuses connections
    h = Harness(notification_settings(smtp.port, delivery_max_attempts=3), smtp, provider)
    await h.start()
    try:
        await h.publish(allocated("case-b"))  # no contact details: the client is not written to

        async def attempts(n: int, status: str) -> bool:
            docs = await h.deliveries(case_id="case-b", channel="email")
            return len(docs) == 2 and all(
                d["attempts"] == n and d["status"] == status for d in docs
            )

        await eventually(lambda: attempts(1, "pending"))
        h.clock.advance(timedelta(seconds=60))  # first backoff
        await eventually(lambda: attempts(2, "pending"))
        h.clock.advance(timedelta(seconds=120))  # doubled
        await eventually(lambda: attempts(3, "parked"))

        parked = (await h.api("GET", "/v1/deliveries", params={"status": "parked"})).json()
        assert parked["count"] == 2
        first = parked["items"][0]
        assert "smtp" in first["reason"]
        assert [a["outcome"] for a in first["attempt_log"]] == ["failed", "failed", "parked"]
        suppressed = await h.deliveries(case_id="case-b", recipient_role="client")
        assert suppressed[0]["status"] == "suppressed"
        assert suppressed[0]["reason"] == "suppressed: no consent"

        reader = await topic_reader(topic_name(Topic.NOTIFICATION_EVENTS, h.settings.topic_prefix))
        failed = await reader.read_until(lambda r: len(r) >= 2)
        assert all(json.loads(r.value)["parked"] is True for r in failed[:2])

        smtp.start()  # the mail server is back
        try:
            for item in parked["items"]:
                response = await h.api("POST", f"/v1/deliveries/{item['id']}/resend")
                assert response.status_code == 202
            await eventually(lambda: _count(smtp, 2))
            assert {m["To"] for m in smtp.messages} == {CASEWORKER, TEAM_LEADER}
            await eventually(lambda: attempts(4, "sent"))
            again = await h.api("POST", f"/v1/deliveries/{first['id']}/resend")
            assert again.status_code == 409
        finally:
            smtp.stop()
    finally:
        await h.stop()


async def test_withdrawn_sms_consent_means_no_sms(harness: Harness) -> None:
    h = harness
    # Alex agreed to texts, then withdrew; Bo still agrees; Cy withdrew every channel.
    await h.publish(
        contacts(
            "case-alex",
            "p-alex",
            display_name="Alex",
            mobile="07700900001",
            email="alex@example.org",
            preferred_channels=["sms"],
            consented_channels=["sms", "email"],
        ),
        contacts(
            "case-alex",
            "p-alex",
            display_name="Alex",
            mobile="07700900001",
            email="alex@example.org",
            preferred_channels=["sms"],
            consented_channels=["email"],
        ),
        contacts(
            "case-bo",
            "p-bo",
            display_name="Bo",
            mobile="07700900002",
            preferred_channels=["sms"],
            consented_channels=["sms"],
        ),
        contacts(
            "case-cy",
            "p-cy",
            display_name="Cy",
            mobile="07700900003",
            preferred_channels=["sms"],
            consented_channels=[],
        ),
    )
    await contact_stored(h, "case-alex", "p-alex", version=2)
    await contact_stored(h, "case-bo", "p-bo")
    await contact_stored(h, "case-cy", "p-cy")
    await h.publish(
        allocated("case-alex", "p-alex"), allocated("case-bo", "p-bo"), allocated("case-cy", "p-cy")
    )
    await eventually(lambda: _count(h.smtp, 7))  # 3 x 2 workers + Alex by email
    await eventually(lambda: _at_least(len(h.provider.on("/v2/notifications/sms")), 1))

    sms = h.provider.on("/v2/notifications/sms")
    assert [s.json()["phone_number"] for s in sms] == ["07700900002"]  # Bo only
    body = sms[0].json()
    assert body["template_id"] == "hearth-client-introduction"
    assert "Hello Bo" in body["personalisation"]["body"]
    token = sms[0].headers["authorization"].removeprefix("Bearer ")
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["iss"] == split_api_key(NOTIFY_KEY)[0]
    assert len(h.smtp.to("alex@example.org")) == 1
    (cy,) = await h.deliveries(case_id="case-cy", recipient_role="client")
    assert (cy["status"], cy["reason"]) == ("suppressed", "suppressed: no consent")


async def test_case_closed_sends_letter_and_notices_to_every_agency(harness: Harness) -> None:
    h = harness
    # Probation has a partner system and a notices mailbox; the person shared with probation.
    put = await h.api(
        "PUT", "/v1/settings", "key-probation", json={"notice_email": "notices@probation.example"}
    )
    assert put.status_code == 200, put.text
    endpoint = await h.api(
        "POST",
        "/v1/webhook-endpoints",
        "key-probation",
        json={"url": f"{h.provider.url}/partner/probation"},
    )
    assert endpoint.status_code == 201, endpoint.text
    await h.api(
        "PUT",
        "/v1/settings",
        json={
            "display_name": "Derby City Council",
            "local_support": "Derby floating support, 01332 000000",
        },
    )
    await h.publish(
        referral("case-c"),
        contacts(
            "case-c",
            postal_address=["1 High Street", "Derby", "DE1 1AA"],
            preferred_channels=["letter"],
            consented_channels=["letter"],
            share_with=["probation-east"],
        ),
    )
    await contact_stored(h, "case-c")
    await eventually(lambda: _count(h.smtp, 1))  # the referrer's acknowledgement
    (ack,) = h.smtp.to("outreach@leeds.example")
    assert "OUT-77" in ack.get_content()

    await h.publish(allocated("case-c"))
    await eventually(lambda: _count(h.smtp, 3))
    await h.publish(
        closed(
            "case-c",
            involved=["derby-council", "leeds-council", "probation-east", "hospital-trust"],
        )
    )
    # The introduction went by post too (the person prefers letters), then the closure letter.
    await eventually(lambda: _at_least(len(h.provider.on("/v2/notifications/letter")), 2))
    await eventually(lambda: _at_least(len(h.provider.on("/partner/probation")), 1))
    await eventually(lambda: _count(h.smtp, 5))

    letters = [r.json() for r in h.provider.on("/v2/notifications/letter")]
    (request,) = [r for r in letters if r["template_id"] == "hearth-closure-letter"]
    assert request["personalisation"]["address_line_1"] == "Sam Client"
    assert request["personalisation"]["address_line_4"] == "DE1 1AA"
    pdf = base64.b64decode(request["content"])
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert "Derby floating support" in text and "0808 800 4444" in text

    (record,) = await h.deliveries(case_id="case-c", template="closure_letter")
    response = await h.api("GET", f"/v1/deliveries/{record['_id']}/letter")
    assert response.status_code == 200 and response.content == pdf
    assert response.headers["content-type"] == "application/pdf"

    (referrer_notice,) = [
        m for m in h.smtp.to("outreach@leeds.example") if "closed" in m["Subject"]
    ]
    assert referrer_notice["Subject"] == "Case closed - case-c"
    assert "withheld" in referrer_notice.get_content()  # leeds is not in the person's consent
    (probation_mail,) = h.smtp.to("notices@probation.example")
    assert "Sam Client" in probation_mail.get_content()  # probation is
    (hook,) = h.provider.on("/partner/probation")
    assert verify(endpoint.json()["secret"], hook.headers, hook.body, h.clock.now())
    assert hook.json()["case_id"] == "case-c"
    (hospital,) = await h.deliveries(case_id="case-c", recipient_key="agency:hospital-trust")
    assert hospital["status"] == "suppressed"


async def test_urgent_alerts_and_review_reminders_reach_the_workers(harness: Harness) -> None:
    h = harness
    await h.api(
        "PUT",
        "/v1/settings",
        "key-homes",
        json={"housing_officer_email": "officer@derbyhomes.example"},
    )
    await h.publish(allocated("case-d", tenancy_id="derby-homes:T-100"))
    await eventually(lambda: _count(h.smtp, 2))
    await h.publish(at_risk(None), review_due("case-d", "reminder"))
    await eventually(lambda: _count(h.smtp, 6))
    alerts = [m for m in h.smtp.messages if m["Subject"].startswith("URGENT")]
    assert {m["To"] for m in alerts} == {CASEWORKER, TEAM_LEADER}
    assert "1,234.50" in alerts[0].get_content()
    (officer,) = h.smtp.to("officer@derbyhomes.example")
    assert "withheld" in officer.get_content() and CASEWORKER in officer.get_content()
    reminders = [m for m in h.smtp.to(CASEWORKER) if m["Subject"].startswith("Review")]
    assert reminders[0]["Subject"] == "Review coming up - case case-d on 30 March 2026"


async def test_templates_are_kept_per_organisation(harness: Harness) -> None:
    h = harness
    templates = (await h.api("GET", "/v1/templates")).json()
    assert {t["key"] for t in templates} >= {"closure_letter", "client_introduction"}
    put = await h.api(
        "PUT",
        "/v1/templates/review_reminder",
        json={"subject": "Derby: review ((review_point)) on ((due_on))", "body": "Book it."},
    )
    assert put.status_code == 200 and put.json()["customised"] is True
    assert (await h.api("GET", "/v1/templates/review_reminder", "key-leeds")).json()[
        "customised"
    ] is False
    assert (await h.api("GET", "/v1/templates/nope")).status_code == 404
    assert (await h.api("PUT", "/v1/templates/review_due", json={"subject": ""})).status_code == 422
    await h.publish(allocated("case-e"))
    await eventually(lambda: _count(h.smtp, 2))
    await h.publish(review_due("case-e"))
    await eventually(lambda: _count(h.smtp, 3))
    assert h.smtp.messages[-1]["Subject"] == "Derby: review stage_1_week_12 on 30 March 2026"


async def _count(smtp: MailSink, n: int) -> bool:
    return len(smtp.messages) >= n


async def _at_least(value: int, n: int) -> bool:
    return value >= n
