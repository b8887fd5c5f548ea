"""Issue 15: every flow of the referral service into another organisation checks a live
data-sharing agreement at the moment it happens; without one it is held with a named reason,
visible to either party's admins. Against the real broker and database."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from shared.agreements import DataCategory, Purpose
from shared.clock import ManualClock
from shared.codes import Route
from shared.events.case_events import CaseAllocated
from shared.events.envelope import make_event
from shared.topics import Topic, topic_name
from tests.helpers import publish, wait_for
from tests.identity import bearer
from tests.referral.arrears.harness import end, grant
from tests.referral.factories import referral_json
from tests.referral.service import data, header, of_type, running_referral
from tests.tenancies import tenancy_of

pytestmark = pytest.mark.integration

HOMES = bearer("derby-homes")  # the landlord
COUNCIL = bearer("leeds-council")  # the council its risk rules name
NO_PREVENTION = "no live arrears-prevention agreement between derby-homes and leeds-council"
NO_TENANCY_DATA = "no live tenancy-data agreement between derby-homes and leeds-council"
MEDIUM = {"arrears_balance": 500, "weeks_in_arrears": 5}
HIGH = {"arrears_balance": 900, "weeks_in_arrears": 9}


def service(settings: Any, runtime: Any, clock: ManualClock) -> SimpleNamespace:
    return SimpleNamespace(settings=settings, runtime=runtime, clock=clock)


async def held_flows(client: Any, caller: dict[str, str], status: str = "held") -> list[dict]:
    response = await client.get(f"/v1/held-flows?status={status}", headers=caller)
    assert response.status_code == 200, response.text
    return response.json()["held_flows"]


async def test_prevention_referral_into_a_council_is_held_until_an_agreement_is_live(
    make_settings, topic_reader
) -> None:
    settings = make_settings("referral")
    clock = ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    async with running_referral(settings, clock) as (runtime, client):
        svc = service(settings, runtime, clock)
        intake = await topic_reader(topic_name(Topic.REFERRAL_INTAKE, settings.topic_prefix))
        risk = await topic_reader(topic_name(Topic.TENANCY_RISK, settings.topic_prefix))
        rules = {"prevention_organisation": "leeds-council"}
        assert (await client.put("/v1/risk-rules", headers=HOMES, json=rules)).status_code == 200

        # Refused: no agreement. The landlord's own TenancyAtRisk still goes out.
        alert = {"tenancy_reference": "H-1", **MEDIUM}
        body = (await client.post("/v1/arrears-alerts", headers=HOMES, json=alert)).json()
        assert body["signalled"] and "prevention_case_id" not in body
        signals = await risk.read_until(lambda r: len(of_type(r, "TenancyAtRisk")) >= 1)
        assert data(of_type(signals, "TenancyAtRisk")[0])["prevention_case_id"] is None
        assert of_type(await intake.settle(1.5), "ReferralSubmitted") == []
        # Held, with the reason, for the admins of both organisations (and nobody else).
        for caller in (HOMES, COUNCIL):
            (flow,) = await held_flows(client, caller)
            assert flow["kind"] == "prevention-referral" and flow["reason"] == NO_PREVENTION
            assert flow["tenancy_id"] == tenancy_of("derby-homes", "H-1")
            assert (flow["from_organisation"], flow["to_organisation"]) == (
                "derby-homes",
                "leeds-council",
            )
        assert await held_flows(client, bearer("south-norfolk")) == []
        # A rule change alone never reaches the council: the next tenancy is held too.
        alert2 = {"tenancy_reference": "H-2", **HIGH}
        assert (await client.post("/v1/arrears-alerts", headers=HOMES, json=alert2)).json()[
            "signalled"
        ]

        # The agreement becomes live: held referrals are raised then, once each.
        agreement = await grant(svc, "derby-homes", "leeds-council", Purpose.ARREARS_PREVENTION)

        def raised(records: list[Any]) -> list[Any]:
            return of_type(records, "ReferralSubmitted")

        records = await intake.read_until(lambda r: len(raised(r)) >= 2)
        assert {header(r, "ce_organisation") for r in raised(records)} == {"leeds-council"}
        assert len(raised(await intake.settle(1.5))) == 2
        assert await wait_for(lambda: _none_held(client))
        released = await held_flows(client, COUNCIL, "released")
        ids = {tenancy_of("derby-homes", "H-1"), tenancy_of("derby-homes", "H-2")}
        assert {f["tenancy_id"] for f in released} == ids

        # Live: a new tenancy's referral goes at once.
        alert3 = {"tenancy_reference": "H-3", **MEDIUM}
        body = (await client.post("/v1/arrears-alerts", headers=HOMES, json=alert3)).json()
        assert body["prevention_case_id"]

        # Ended: refused again, held with the reason.
        await end(svc, agreement)
        alert4 = {"tenancy_reference": "H-4", **MEDIUM}
        body = (await client.post("/v1/arrears-alerts", headers=HOMES, json=alert4)).json()
        assert body["signalled"] and "prevention_case_id" not in body
        held = await held_flows(client, HOMES)
        (flow,) = [f for f in held if f["kind"] == "prevention-referral"]
        assert flow["tenancy_id"] == tenancy_of("derby-homes", "H-4")
        assert flow["reason"] == NO_PREVENTION
        # The council's prevention cases are no longer linked to the landlord's alerts either.
        assert all(f["reason"] == NO_TENANCY_DATA for f in held if f is not flow), held
        assert len(raised(await intake.settle(1.0))) == 3


async def _none_held(client: Any) -> bool:
    return await held_flows(client, HOMES) == []


def council_referral(reference: str) -> dict[str, Any]:
    """A council's referral naming the landlord's tenancy."""
    tenancy = {"landlord_organisation": "derby-homes", "tenancy_reference": reference}
    return referral_json(tenancy=tenancy)


async def allocate(settings: Any, referral_id: str, tenancy_id: str) -> None:
    allocated = CaseAllocated(
        case_id=referral_id,
        person_id="p-claim",
        route=Route.SUPPORT,
        lead_worker_id="w-1",
        team_id="t-1",
        team_leader_id="w-2",
        allocated_at=datetime(2026, 1, 5, 10, 0, tzinfo=UTC),
        tenancy_id=tenancy_id,
        target_hours_per_week=2,
    )
    await publish(
        settings, make_event(allocated, source="allocation", organisation="leeds-council")
    )


async def test_a_tenancy_claim_links_to_the_landlords_alerts_only_under_an_agreement(
    make_settings, topic_reader
) -> None:
    settings = make_settings("referral")
    clock = ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    async with running_referral(settings, clock) as (runtime, client):
        svc = service(settings, runtime, clock)
        risk = await topic_reader(topic_name(Topic.TENANCY_RISK, settings.topic_prefix))
        intake = await topic_reader(topic_name(Topic.REFERRAL_INTAKE, settings.topic_prefix))
        made = await client.post("/v1/referrals", headers=COUNCIL, json=council_referral("C-1"))
        assert made.status_code == 201, made.text
        case_id = made.json()["id"]
        await allocate(settings, case_id, tenancy_of("derby-homes", "C-1"))
        tenancies = runtime.db["tenancy_risk"]

        async def claimed() -> bool:
            doc = await tenancies.find_one({"_id": tenancy_of("derby-homes", "C-1")})
            cases = (doc or {}).get("cases") or {}
            return any(c["status"] == "open" for c in cases.values())

        await wait_for(claimed)
        (flow,) = await wait_for(lambda: held_flows(client, HOMES))
        assert flow["kind"] == "tenancy-claim" and flow["reason"] == NO_TENANCY_DATA
        assert flow["subject"] == case_id

        # Refused: the landlord's alert names no council case, and its own prevention
        # referral is raised all the same (the claim does not suppress it).
        alert = {"tenancy_reference": "C-1", **MEDIUM}
        body = (await client.post("/v1/arrears-alerts", headers=HOMES, json=alert)).json()
        assert body["signalled"] and "case_id" not in body and body["prevention_case_id"]
        signal = data(of_type(await risk.read_until(lambda r: len(r) >= 1), "TenancyAtRisk")[0])
        assert signal["case_id"] is None
        raised = await intake.read_until(lambda r: len(of_type(r, "ReferralSubmitted")) >= 1)
        assert header(of_type(raised, "ReferralSubmitted")[0], "ce_organisation") == ("derby-homes")
        # Nor does the landlord learn of the council's case from its own tenancy's page.
        page = (await client.get("/v1/arrears-alerts/tenancies/C-1", headers=HOMES)).json()
        assert case_id not in page["open_cases"] + page["pending_cases"]

        # Live tenancy-data agreement: the next rise names the council's case.
        agreement = await grant(
            svc,
            "derby-homes",
            "leeds-council",
            Purpose.TENANCY_DATA,
            (DataCategory.TENANCY, DataCategory.ARREARS),
        )
        assert await wait_for(lambda: _none_held(client))
        alert = {"tenancy_reference": "C-1", **HIGH}
        body = (await client.post("/v1/arrears-alerts", headers=HOMES, json=alert)).json()
        assert body["case_id"] == case_id

        # Ended: the link is refused again and the claim held again.
        await end(svc, agreement)
        alert = {
            "tenancy_reference": "C-1",
            "arrears_balance": 900,
            "legal_stage": "possession_order",
        }
        body = (await client.post("/v1/arrears-alerts", headers=HOMES, json=alert)).json()
        assert body["signalled"] and "case_id" not in body
        (flow,) = await held_flows(client, COUNCIL)
        assert flow["kind"] == "tenancy-claim" and flow["reason"] == NO_TENANCY_DATA
