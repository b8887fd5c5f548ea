"""Issue 16, part 4: each example of input no person could have meant is refused with an
error naming the field, or does no harm, on the real referral service (broker, database,
tokens)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.clock import ManualClock
from shared.topics import Topic, topic_name
from tests.referral.factories import referral_json
from tests.referral.service import DERBY, data, of_type, running_referral

pytestmark = pytest.mark.integration


def fields_of(response: Any) -> set[str]:
    assert response.status_code == 422, response.text
    return {e["field"] for e in response.json()["errors"]}


async def test_impossible_dates_and_money_are_refused_naming_the_field(make_settings) -> None:
    async with running_referral(make_settings("referral"), ManualClock()) as (_rt, client):
        # An eviction in year 1 once raised a "critical" referral, facing homelessness in
        # -739949 days, and was allocated.
        urgent = referral_json(urgency={"date_facing_homelessness": "0001-01-01"})
        answer = await client.post("/v1/referrals", json=urgent, headers=DERBY)
        assert fields_of(answer) == {"urgency.date_facing_homelessness"}
        alert = {"tenancy_reference": "T-1", "arrears_balance": 900, "eviction_date": "0001-01-01"}
        answer = await client.post("/v1/arrears-alerts", json=alert, headers=DERBY)
        assert fields_of(answer) == {"eviction_date"}

        # "No payment for 521722 weeks": reported in 9999, last paid in year 1.
        alert = {
            "tenancy_reference": "T-1",
            "arrears_balance": 900,
            "reported_on": "9999-12-31",
            "last_payment_date": "0001-01-01",
        }
        answer = await client.post("/v1/arrears-alerts", json=alert, headers=DERBY)
        assert fields_of(answer) == {"reported_on", "last_payment_date"}

        # `true` was read as £1.00; a credit of ten million was a balance.
        for balance in (True, -10_000_000):
            alert = {"tenancy_reference": "T-1", "arrears_balance": balance}
            answer = await client.post("/v1/arrears-alerts", json=alert, headers=DERBY)
            assert fields_of(answer) == {"arrears_balance"}, balance
        assert (
            "not true or false" in answer.json()["detail"] or "between" in answer.json()["detail"]
        )

        # Born in 2999.
        person = {"given_name": "Alex", "family_name": "Morgan", "date_of_birth": "2999-01-01"}
        born = referral_json(person=person)
        answer = await client.post("/v1/referrals", json=born, headers=DERBY)
        assert fields_of(answer) == {"person.date_of_birth"}


async def test_a_lone_surrogate_is_a_422_or_a_rejected_row_never_a_500(make_settings) -> None:
    async with running_referral(make_settings("referral"), ManualClock()) as (_rt, client):
        headers = {**DERBY, "Content-Type": "application/json"}
        # Raw JSON with the escape, as a client would send it: one bad row, two good ones.
        batch = (
            b'[{"tenancy_reference": "T-\\ud800", "arrears_balance": 900},'
            b' {"tenancy_reference": "T-GOOD-1", "arrears_balance": 900, "weekly_rent": 100,'
            b' "weeks_in_arrears": 9},'
            b' {"tenancy_reference": "T-BAD-2", "arrears_balance": true},'
            b' {"tenancy_reference": "T-GOOD-2", "arrears_balance": 50}]'
        )
        answer = await client.post("/v1/arrears-alerts/batch", content=batch, headers=headers)
        assert answer.status_code == 200, answer.text
        results = answer.json()["results"]
        assert [r["status"] for r in results] == ["rejected", "accepted", "rejected", "unchanged"]
        assert results[0]["field"] == "tenancy_reference" and results[0]["index"] == 0
        assert "unicode" in results[0]["reason"].lower()
        assert results[2]["field"] == "arrears_balance" and results[2]["index"] == 2
        # The good rows were kept.
        kept = await client.get("/v1/arrears-alerts/tenancies/T-GOOD-1", headers=DERBY)
        assert kept.status_code == 200 and kept.json()["signalled_level"] is not None

        single = b'{"tenancy_reference": "T-\\ud800", "arrears_balance": 900}'
        answer = await client.post("/v1/arrears-alerts", content=single, headers=headers)
        assert fields_of(answer) == {"tenancy_reference"}
        # A surrogate in a field's *name* is a 422 too, not a 500.
        odd_key = b'{"tenancy_reference": "T-1", "arrears_balance": 1, "\\ud800": 1}'
        answer = await client.post("/v1/arrears-alerts", content=odd_key, headers=headers)
        assert answer.status_code == 422, answer.text
        odd = json.loads(b'{"person": {"given_name": "A\\ud800", "family_name": "M"}}')
        body = json.dumps(referral_json(**odd)).encode()
        answer = await client.post("/v1/referrals", content=body, headers=headers)
        assert fields_of(answer) == {"person.given_name"}


async def test_the_referrer_is_the_callers_organisation_with_one_email(
    make_settings, topic_reader
) -> None:
    settings = make_settings("referral")
    async with running_referral(settings, ManualClock()) as (_rt, client):
        events = await topic_reader(topic_name(Topic.REFERRAL_EVENTS, settings.topic_prefix))

        # One message was sent to both addresses.
        two = {"source": "probation", "email": "a@x.test, b@y.test"}
        answer = await client.post("/v1/referrals", json=referral_json(referrer=two), headers=DERBY)
        assert fields_of(answer) == {"referrer.email"}

        # Claiming another organisation would send its real mailbox the notices.
        claim = {"organisation": "leeds-council", "source": "probation"}
        answer = await client.post(
            "/v1/referrals", json=referral_json(referrer=claim), headers=DERBY
        )
        assert fields_of(answer) == {"referrer.organisation"}

        # A probation officer is a named contact; the organisation is the caller's.
        contact = {
            "source": "probation",
            "name": "Pat Officer",
            "email": "pat.officer@probation.test",
            "agency": "Probation East Midlands",
        }
        answer = await client.post(
            "/v1/referrals", json=referral_json(referrer=contact), headers=DERBY
        )
        assert answer.status_code == 201, answer.text
        case_id = answer.json()["id"]
        records = await events.read_until(lambda r: len(of_type(r, "ReferralReceived", case_id)))
        referrer = data(of_type(records, "ReferralReceived", case_id)[0])["referrer"]
        assert referrer["organisation"] == "derby-homes"
        assert referrer["email"] == "pat.officer@probation.test"
        assert referrer["agency"] == "Probation East Midlands"
        shown = await client.get(f"/v1/referrals/{case_id}", headers=DERBY)
        assert shown.json()["referrer"]["organisation"] == "derby-homes"
