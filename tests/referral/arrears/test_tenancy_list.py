"""The landlord's list of tenancies at risk (issue 17): its own tenancies only, with what each
alert caused, against the real broker and database."""

from __future__ import annotations

import pytest

from tests.identity import bearer
from tests.referral.arrears.harness import DERBY, LEEDS, running

pytestmark = pytest.mark.integration
LIST = "/v1/arrears-alerts/tenancies"


async def test_a_landlord_lists_its_own_tenancies_at_risk_and_no_one_elses(
    make_settings, topic_reader
) -> None:
    settings = make_settings("referral")
    async with running(settings) as svc:
        for headers, alert in [
            (DERBY, {"tenancy_reference": "DH-1", "arrears_balance": 900, "weeks_in_arrears": 9}),
            (DERBY, {"tenancy_reference": "DH-2", "arrears_balance": 40, "weeks_in_arrears": 1}),
            (LEEDS, {"tenancy_reference": "LC-1", "arrears_balance": 2000}),
        ]:
            answer = await svc.client.post("/v1/arrears-alerts", headers=headers, json=alert)
            assert answer.status_code == 200, answer.text

        derby = await svc.client.get(LIST, headers=DERBY)
        assert derby.status_code == 200, derby.text
        body = derby.json()
        assert body["total"] == 2
        listed = {t["tenancy_reference"]: t for t in body["tenancies"]}
        assert set(listed) == {"DH-1", "DH-2"}  # Leeds's tenancy is not Derby Homes's to see
        high = listed["DH-1"]
        assert high["tenancy_id"].startswith("derby-homes:")
        assert high["signalled_level"] == "high"
        assert high["last_alert"]["arrears_balance"] == 900
        assert high["last_alert"]["weeks_in_arrears"] == 9
        [referral] = high["cases"]  # no case was open: a prevention referral was raised
        assert referral["prevention_referral"] and referral["status"] == "pending"
        assert listed["DH-2"]["signalled_level"] is None and listed["DH-2"]["cases"] == []

        leeds = (await svc.client.get(LIST, headers=LEEDS)).json()
        assert [t["tenancy_reference"] for t in leeds["tenancies"]] == ["LC-1"]

        paged = (await svc.client.get(LIST, headers=DERBY, params={"limit": 1})).json()
        assert paged["total"] == 2 and len(paged["tenancies"]) == 1

        caseworker = bearer("derby-homes", ["caseworker"], ["team-1"], "cw-1")
        refused = await svc.client.get(LIST, headers=caseworker)
        assert refused.status_code == 403
