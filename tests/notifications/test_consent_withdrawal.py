"""Issue 16: consent withdrawn, or past its expiry, stops notifications from that moment: no
message to the person, no notice about them to another organisation, whether planned after
or already queued and retrying (asked again just before each send). Staff of the case's own
organisation still hear of it. Against the real broker and database, real SMTP and provider."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from devstack.sinks import MailSink
from shared.consent import ALL_PURPOSES, Consent, ConsentScope, give, withdraw
from shared.events.consent_events import ConsentChanged
from shared.events.envelope import Envelope, make_event
from tests.notifications.conftest import Harness, eventually
from tests.notifications.events import ORG, allocated, closed, contacts, referral

pytestmark = pytest.mark.integration


def given(case_id: str, at: datetime, **scope: Any) -> Consent:
    values = {"purposes": ALL_PURPOSES, "channels": ("email", "sms", "letter"), **scope}
    return give(
        None, case_id=case_id, person_id="p-1", organisation=ORG,
        scope=ConsentScope(**values), by="casey.worker", at=at,
    )  # fmt: skip


def changed(consent: Consent) -> Envelope:
    return make_event(ConsentChanged.of(consent), source="hearth/referral", organisation=ORG)


async def consent_known(h: Harness, case_id: str, version: int) -> None:
    async def known() -> bool:
        consent = await h.runtime.store.consent(case_id)
        return consent is not None and consent.version == version

    await eventually(known)


async def contact_known(h: Harness, case_id: str, present: bool = True) -> None:
    async def known() -> bool:
        found = await h.runtime.store.contacts.count_documents({"case_id": case_id})
        return (found > 0) is present

    await eventually(known)


def person(case_id: str, version: int = 1) -> Envelope:
    return contacts(
        case_id,
        email="sam@example.org",
        mobile="07700900123",
        postal_address=["1 High Street", "DE1 1AA"],
        preferred_channels=["email"],
        consented_channels=["email", "sms", "letter"],
        share_with=["derby-homes", "leeds-council", "probation-east"],
        consent_version=version,
    )


async def test_a_retrying_message_to_the_person_stops_once_consent_is_withdrawn(
    notification_settings, provider
) -> None:
    smtp = MailSink()  # not started: every email fails and is retried
    h = Harness(notification_settings(smtp.port), smtp, provider)
    await h.start()
    try:
        consent = given("case-w", h.clock.now())
        await h.publish(changed(consent))
        await consent_known(h, "case-w", 1)
        await h.publish(person("case-w"))
        await contact_known(h, "case-w")
        await h.publish(allocated("case-w"))

        async def retrying() -> bool:
            docs = await h.deliveries(case_id="case-w")
            return len(docs) == 3 and all(
                d["attempts"] == 1 and d["status"] == "pending" for d in docs
            )

        await eventually(retrying)  # the person's introduction and both staff emails

        h.clock.advance(timedelta(seconds=10))
        withdrawn = withdraw(consent, by="casey.worker", at=h.clock.now())
        await h.publish(changed(withdrawn))
        await consent_known(h, "case-w", 2)
        await contact_known(h, "case-w", present=False)  # the contact copy is dropped

        h.clock.advance(timedelta(seconds=60))  # the retries come due

        async def stopped() -> bool:
            (client,) = await h.deliveries(case_id="case-w", recipient_role="client")
            staff = await h.deliveries(case_id="case-w", recipient_role="caseworker")
            return client["status"] == "suppressed" and staff[0]["attempts"] == 2

        await eventually(stopped)
        (client,) = await h.deliveries(case_id="case-w", recipient_role="client")
        assert client["reason"] == "held: consent withdrawn on 2026-01-05"
        assert [a["outcome"] for a in client["attempt_log"]] == ["failed", "suppressed"]
        assert client["attempts"] == 1  # never tried again
        # The case's own staff still hear of their case.
        (worker,) = await h.deliveries(case_id="case-w", recipient_role="caseworker")
        assert worker["status"] == "pending" and worker["reason"] != client["reason"]
    finally:
        await h.stop()


async def test_notices_to_other_organisations_follow_the_consent(harness: Harness) -> None:
    h = harness
    # Consent covering derby-homes only: the referrer (leeds-council) and probation are not.
    await h.publish(changed(given("case-s", h.clock.now(), organisations=("derby-homes",))))
    await consent_known(h, "case-s", 1)
    await h.publish(person("case-s"), referral("case-s"))
    await contact_known(h, "case-s")
    await h.publish(allocated("case-s"))
    await eventually(lambda: _count(h, "case-s", 4))  # receipt, client, two staff
    await h.publish(closed("case-s", involved=["derby-homes", "probation-east"]))

    async def notices() -> dict[str, dict[str, Any]]:
        docs = await h.deliveries(case_id="case-s", trigger_event_type="CaseClosed")
        return {d["recipient_key"]: d for d in docs}

    await eventually(
        lambda: _has(notices, "referrer", "agency:derby-homes", "agency:probation-east")
    )
    found = await notices()
    assert found["referrer"]["reason"] == "held: consent does not cover leeds-council"
    assert found["agency:probation-east"]["reason"] == (
        "held: consent does not cover probation-east"
    )
    assert not (found["agency:derby-homes"].get("reason") or "").startswith("held:")  # covered
    receipt = await h.deliveries(case_id="case-s", trigger_event_type="ReferralReceived")
    assert receipt[0]["status"] != "suppressed"  # a receipt needs no scope

    # Withdrawn: every notice about the person to another organisation, and the closure
    # letter to the person, is held; the delivery log says why.
    consent = given("case-x", h.clock.now(), organisations=("derby-homes", "leeds-council"))
    await h.publish(changed(consent))
    await h.publish(changed(withdraw(consent, by="casey.worker", at=h.clock.now())))
    await consent_known(h, "case-x", 2)
    await h.publish(referral("case-x"), allocated("case-x"))
    await h.publish(closed("case-x", involved=["derby-homes"]))

    async def closure() -> list[dict[str, Any]]:
        return await h.deliveries(case_id="case-x", trigger_event_type="CaseClosed")

    await eventually(lambda: _closure_planned(closure))
    log = (await h.api("GET", "/v1/deliveries", params={"case_id": "case-x"})).json()
    reasons = {(d["recipient_role"], d.get("reason")) for d in log["items"]}
    held = "held: consent withdrawn on 2026-01-05"
    assert {("referrer", held), ("agency", held), ("client", held)} <= reasons
    staff = [d for d in log["items"] if d["recipient_role"] == "caseworker"]
    assert staff and all(d["status"] != "suppressed" for d in staff)


async def test_expired_consent_stops_messages_without_any_event(harness: Harness) -> None:
    h = harness
    expires = h.clock.now().date() + timedelta(days=2)
    await h.publish(changed(given("case-e", h.clock.now(), expires_on=expires)))
    await consent_known(h, "case-e", 1)
    await h.publish(person("case-e"))
    await contact_known(h, "case-e")
    await h.publish(allocated("case-e"))

    async def introduced() -> bool:
        found = await h.deliveries(case_id="case-e", recipient_role="client")
        return bool(found) and found[0]["status"] == "sent"

    await eventually(introduced)  # while consent stands, the person hears

    h.clock.advance(timedelta(days=2))
    await h.publish(closed("case-e", involved=["derby-homes"]))

    async def letter() -> list[dict[str, Any]]:
        return await h.deliveries(
            case_id="case-e", recipient_role="client", trigger_event_type="CaseClosed"
        )

    await eventually(lambda: _nonempty(letter))
    (closure,) = await letter()
    assert closure["status"] == "suppressed"
    assert closure["reason"] == f"held: consent expired on {expires}"
    assert expires == date(2026, 1, 7)


async def _count(h: Harness, case_id: str, n: int) -> bool:
    return len(await h.deliveries(case_id=case_id)) >= n


async def _has(notices: Any, *keys: str) -> bool:
    return set(keys) <= set(await notices())


async def _closure_planned(closure: Any) -> bool:
    roles = {d["recipient_role"] for d in await closure()}
    return {"client", "referrer", "agency"} <= roles


async def _nonempty(found: Any) -> bool:
    return bool(await found())
