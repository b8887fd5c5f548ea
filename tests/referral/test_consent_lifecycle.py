"""Issue 16: a referral's consent as a lifecycle over HTTP. Given with a scope and an expiry
at intake, varied, withdrawn; each change published as ConsentChanged and audited; another
organisation's referral is 404; bad input is a 422 naming the field. Against the real broker
and database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.clock import ManualClock
from shared.events.envelope import from_kafka
from shared.topics import Topic, topic_name
from tests.identity import bearer
from tests.referral.factories import referral_json
from tests.referral.service import data, header, of_type, running_referral

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ORG = "derby-homes"
CASEWORKER = bearer(ORG, ["team-leader"], ["team-a"])  # reaches unallocated referrals
MANAGER = bearer(ORG, ["service-manager"])
LEEDS = bearer("leeds-council", ["service-manager"])
CONSENT = {
    "to_record": True,
    "to_share": True,
    "share_with": ["derby-council"],
    "channels_allowed": ["sms", "letter"],
    "purposes": ["contact", "partner-notices", "referral-status"],
    "expires_on": "2027-06-01",
}


def changes(records: list[Any], case_id: str) -> list[dict[str, Any]]:
    return [data(r) for r in of_type(records, "ConsentChanged", case_id)]


async def test_consent_is_given_varied_and_withdrawn(make_settings, topic_reader) -> None:
    settings = make_settings("referral")
    clock = ManualClock(NOW)
    async with running_referral(settings, clock) as (_runtime, client):
        events = await topic_reader(topic_name(Topic.REFERRAL_EVENTS, settings.topic_prefix))
        contacts = await topic_reader(topic_name(Topic.CONTACTS, settings.topic_prefix))
        audit = await topic_reader(topic_name(Topic.AUDIT, settings.topic_prefix))
        made = await client.post(
            "/v1/referrals", headers=MANAGER, json=referral_json(consent=CONSENT)
        )
        assert made.status_code == 201, made.text
        case_id = made.json()["id"]
        path = f"/v1/referrals/{case_id}/consent"

        # Given at intake, with its scope, expiry and the referrer's organisation.
        given = (await client.get(path, headers=MANAGER)).json()
        assert given["state"] == "given" and given["version"] == 1
        assert given["organisations"] == ["derby-council", "derby-homes"]  # + the referrer
        assert given["purposes"] == ["contact", "referral-status", "partner-notices"]
        assert given["expires_on"] == "2027-06-01" and given["channels"] == ["sms", "letter"]
        seen = await events.read_until(lambda rs: len(changes(rs, case_id)) >= 1)
        (first,) = changes(seen, case_id)
        assert first["state"] == "given" and first["person_id"] == made.json()["person_id"]
        assert first["organisation"] == ORG and first["version"] == 1

        # Varied by a caseworker: the scope is replaced, when it was given is kept.
        scope = {
            "organisations": ["leeds-council"],
            "purposes": ["contact", "partner-notices"],
            "channels": ["sms"],
            "expires_on": "2027-03-01",
        }
        clock.advance(timedelta(hours=1))
        varied = await client.put(path, headers=CASEWORKER, json=scope)
        assert varied.status_code == 200, varied.text
        body = varied.json()
        assert (body["state"], body["version"], body["given_at"]) == (
            "varied",
            2,
            given["given_at"],
        )
        assert body["organisations"] == ["leeds-council"] and body["varied_by"]
        # The person's contact details are shared again under the varied consent.
        shared = await contacts.read_until(
            lambda rs: any(data(r).get("consent_version") == 2 for r in rs)
        )
        latest = next(data(r) for r in shared if data(r).get("consent_version") == 2)
        assert latest["consented_channels"] == ["sms"] and latest["postal_address"] == []
        assert latest["share_with"] == ["leeds-council"]

        # Withdrawn: from this moment; once only.
        clock.advance(timedelta(hours=1))
        withdrawal = {"reason": "asked us to stop", "recorded_on": "2026-12-01"}
        withdrawn = await client.post(f"{path}/withdraw", headers=CASEWORKER, json=withdrawal)
        assert withdrawn.status_code == 200, withdrawn.text
        assert withdrawn.json()["state"] == "withdrawn" and withdrawn.json()["version"] == 3
        again = await client.post(f"{path}/withdraw", headers=CASEWORKER, json={})
        assert again.status_code == 409
        assert again.json()["errors"][0]["field"] == "consent"
        now = (await client.get(path, headers=CASEWORKER)).json()
        assert now["state"] == "withdrawn" and now["reason"] == "asked us to stop"
        seen = await events.read_until(lambda rs: len(changes(rs, case_id)) >= 3)
        assert [c["state"] for c in changes(seen, case_id)] == ["given", "varied", "withdrawn"]
        last = changes(seen, case_id)[-1]
        assert last["withdrawn_at"] and "reason" not in last  # free text stays here
        assert all(header(r, "ce_subject") == case_id for r in of_type(seen, "ConsentChanged"))
        assert not any(data(r).get("consent_version") == 3 for r in await contacts.settle(0.5)), (
            "no contact details are shared under a withdrawn consent"
        )

        # Given anew, consent covers again, with a new moment it was given.
        anew = await client.put(path, headers=CASEWORKER, json={"purposes": ["contact"]})
        assert anew.status_code == 200 and anew.json()["state"] == "given"
        assert anew.json()["version"] == 4 and anew.json()["withdrawn_at"] is None

        # Every change is on the audit trail, with who and which record.
        def audited(records: list[Any]) -> list[dict[str, Any]]:
            entries = [from_kafka(r.key, r.value, r.headers).data for r in records]
            return [e for e in entries if e.get("record_id") == case_id]

        trail = await audit.read_until(
            lambda rs: {e["method"] for e in audited(rs)} >= {"PUT", "POST", "GET"}
        )
        changed = [e for e in audited(trail) if e["method"] in ("PUT", "POST")]
        assert {e["path"] for e in changed} >= {
            "/referrals/{referral_id}/consent",
            "/referrals/{referral_id}/consent/withdraw",
        }
        assert all(e["actor_roles"] for e in changed)


async def test_another_organisations_referral_is_not_found_and_bad_input_is_named(
    make_settings,
) -> None:
    settings = make_settings("referral")
    clock = ManualClock(NOW)
    async with running_referral(settings, clock) as (_runtime, client):
        made = await client.post(
            "/v1/referrals", headers=MANAGER, json=referral_json(consent=CONSENT)
        )
        path = f"/v1/referrals/{made.json()['id']}/consent"
        assert (await client.get(path, headers=LEEDS)).status_code == 404
        assert (await client.put(path, headers=LEEDS, json={})).status_code == 404
        assert (await client.post(f"{path}/withdraw", headers=LEEDS, json={})).status_code == 404
        assert (await client.get(path, headers=MANAGER)).json()["state"] == "given"  # untouched

        async def refused(body: dict[str, Any], field: str, suffix: str = "") -> None:
            method = client.post if suffix else client.put
            answer = await method(path + suffix, headers=CASEWORKER, json=body)
            assert answer.status_code == 422, answer.text
            assert answer.json()["errors"][0]["field"] == field, answer.text

        await refused({"expires_on": "2026-11-30"}, "expires_on")
        await refused({"expires_on": "2099-01-01"}, "expires_on")
        await refused({"purposes": ["gossip"]}, "purposes.0")
        await refused({"organisations": ["Not An Org"]}, "organisations.0")
        await refused({"channels": ["pigeon"]}, "channels.0")
        await refused({"scope": []}, "scope")
        await refused({"recorded_on": "2026-12-02"}, "recorded_on", "/withdraw")
        # At intake: an expiry no one could mean.
        bad = referral_json(consent={**CONSENT, "expires_on": "0001-01-01"})
        answer = await client.post("/v1/referrals", headers=MANAGER, json=bad)
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["field"] == "consent.expires_on"
