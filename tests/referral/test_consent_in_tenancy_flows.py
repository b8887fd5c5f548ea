"""Issue 16: the person's consent beside the agreement in referral's own cross-organisation
flow, the tenancy claim. A council's case naming a landlord's tenancy is linked to the
landlord's alerts only while the consent on that case lets the landlord's tenancy data reach
it; otherwise the claim is held with the consent's reason, and released when consent is given
anew. A case without consent recorded (an automatic arrears referral) keeps the agreement's
rules alone. The pure rule first, then against the real broker and database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.referral.arrears.alert import AlertSubmission, ArrearsAlert
from services.referral.arrears.decision import CaseEntry, CaseStatus, TenancyState, case_key
from services.referral.arrears.planning import plan_tenancy
from services.referral.arrears.risk_rules import DEFAULT_RULES
from services.referral.held_flows import FlowKind
from shared.agreements import Agreement, AgreementStatus, DataCategory, Purpose
from shared.clock import ManualClock
from shared.consent import Consent, ConsentScope, give, withdraw
from tests.helpers import wait_for
from tests.identity import bearer
from tests.referral.arrears.harness import grant
from tests.referral.factories import referral_json
from tests.referral.service import running_referral
from tests.referral.test_agreement_flows import allocate, held_flows, service

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LANDLORD, COUNCIL = "derby-homes", "leeds-council"
TENANCY = f"{LANDLORD}:t-c1"  # a tenancy id (in the service, a keyed pseudonym of C-1)
WITHDRAWN = "consent withdrawn on 2026-01-05"
NOT_COVERED = f"consent does not cover {LANDLORD}"


# --- the rule (pure) --------------------------------------------------------------------------


def tenancy_data() -> Agreement:
    return Agreement(
        agreement_id="agr-1", proposed_by=LANDLORD, counterparty=COUNCIL,
        purpose=Purpose.TENANCY_DATA,
        categories=frozenset({DataCategory.TENANCY, DataCategory.ARREARS}),
        starts=datetime(2000, 1, 1, tzinfo=UTC), status=AgreementStatus.ACTIVE, version=2,
    )  # fmt: skip


def council_case(case_id: str = "ref-c1") -> TenancyState:
    entry = CaseEntry(case_id, CaseStatus.OPEN, NOW, COUNCIL)
    return TenancyState(TENANCY, version=1, cases={case_key(case_id): entry})


def consent(organisations: tuple[str, ...] = (LANDLORD,), case_id: str = "ref-c1") -> Consent:
    return give(
        None, case_id=case_id, person_id="p-1", organisation=COUNCIL,
        scope=ConsentScope(organisations=organisations), by="casey", at=NOW,
        check_expiry_day=False,
    )  # fmt: skip


def alert(**fields: Any) -> AlertSubmission:
    body = {"tenancy_reference": "C-1", "arrears_balance": 500.0, "weeks_in_arrears": 5}
    return AlertSubmission(LANDLORD, TENANCY, "alert-1", ArrearsAlert(**{**body, **fields}))


def test_consent_covering_the_landlord_links_the_case_as_the_agreement_does() -> None:
    consents = {"ref-c1": consent()}
    plan = plan_tenancy(council_case(), [alert()], DEFAULT_RULES, NOW, [tenancy_data()], consents)
    (result,) = plan.results
    assert result.case_id == "ref-c1" and plan.held == []


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        (withdraw(consent(), by="casey", at=NOW), WITHDRAWN),
        (consent(organisations=()), NOT_COVERED),
    ],
)
def test_consent_that_refuses_the_landlord_holds_the_claim_with_its_reason(
    given: Consent, reason: str
) -> None:
    state = council_case()
    plan = plan_tenancy(state, [alert()], DEFAULT_RULES, NOW, [tenancy_data()], {"ref-c1": given})
    (result,) = plan.results
    assert result.signalled and result.case_id is None
    # Not linked: the landlord's own prevention referral is raised, as without an agreement.
    assert result.prevention_case_id is not None
    (held,) = plan.held
    assert (held.kind, held.subject, held.reason) == (FlowKind.TENANCY_CLAIM, "ref-c1", reason)
    assert (held.from_organisation, held.to_organisation) == (LANDLORD, COUNCIL)
    # The refused case stays in the tenancy's projection (its status still moves).
    assert plan.after.cases[case_key("ref-c1")] == state.cases[case_key("ref-c1")]
    assert len(plan.after.cases) == 2  # and the pending prevention referral beside it


def test_no_agreement_keeps_the_agreements_reason_and_no_consent_keeps_todays_rules() -> None:
    refused = withdraw(consent(), by="casey", at=NOW)
    plan = plan_tenancy(council_case(), [alert()], DEFAULT_RULES, NOW, [], {"ref-c1": refused})
    (held,) = plan.held
    assert held.reason.startswith("no live tenancy-data agreement")
    # No consent recorded on the case (an automatic referral): the agreement alone decides.
    plan = plan_tenancy(council_case(), [alert()], DEFAULT_RULES, NOW, [tenancy_data()], {})
    assert plan.results[0].case_id == "ref-c1" and plan.held == []


# --- against the real stack -------------------------------------------------------------------

HOMES = bearer(LANDLORD)
MANAGER = bearer(COUNCIL, ["service-manager"])
MEDIUM = {"arrears_balance": 500, "weeks_in_arrears": 5}
HIGH = {"arrears_balance": 900, "weeks_in_arrears": 9}
ORDER = {"arrears_balance": 900, "legal_stage": "possession_order"}


def naming(reference: str, share_with: list[str]) -> dict[str, Any]:
    """A council's referral naming the landlord's tenancy, with the person's consent."""
    tenancy = {"landlord_organisation": LANDLORD, "tenancy_reference": reference}
    body = referral_json(tenancy=tenancy)
    return {**body, "consent": {**body["consent"], "share_with": share_with}}


@pytest.mark.integration
async def test_withdrawn_consent_holds_the_claim_and_consent_given_anew_releases_it(
    make_settings,
) -> None:
    settings = make_settings("referral")
    clock = ManualClock(NOW)
    async with running_referral(settings, clock) as (runtime, client):
        svc = service(settings, runtime, clock)
        await grant(
            svc, LANDLORD, COUNCIL, Purpose.TENANCY_DATA,
            (DataCategory.TENANCY, DataCategory.ARREARS),
        )  # fmt: skip
        made = await client.post("/v1/referrals", headers=MANAGER, json=naming("C-1", [LANDLORD]))
        assert made.status_code == 201, made.text
        case_id = made.json()["id"]
        # The tenancy's id as the service made it from the landlord and the reference.
        tenancy_id = (await runtime.db["referrals"].find_one({"_id": case_id}))["tenancy_id"]
        assert tenancy_id.startswith(f"{LANDLORD}:")
        await allocate(settings, case_id, tenancy_id)
        tenancies = runtime.db["tenancy_risk"]

        async def claimed() -> bool:
            doc = await tenancies.find_one({"_id": tenancy_id})
            return any(c["status"] == "open" for c in ((doc or {}).get("cases") or {}).values())

        await wait_for(claimed)
        # Agreed and consented: linked, nothing held.
        body = await post_alert(client, {"tenancy_reference": "C-1", **MEDIUM})
        assert body["case_id"] == case_id
        assert await held_flows(client, HOMES) == []

        # Withdrawn: the next alert names no council case; the claim is held with the reason.
        path = f"/v1/referrals/{case_id}/consent"
        withdrawn = await client.post(f"{path}/withdraw", headers=MANAGER, json={})
        assert withdrawn.status_code == 200, withdrawn.text
        body = await post_alert(client, {"tenancy_reference": "C-1", **HIGH})
        assert body["signalled"] and "case_id" not in body
        for caller in (HOMES, MANAGER):
            (flow,) = await held_flows(client, caller)
            assert flow["kind"] == "tenancy-claim" and flow["subject"] == case_id
            assert flow["reason"] == WITHDRAWN

        # Given anew, covering the landlord: released on ConsentChanged, linked again.
        anew = await client.put(path, headers=MANAGER, json={"organisations": [LANDLORD]})
        assert anew.status_code == 200 and anew.json()["state"] == "given", anew.text
        await wait_for(lambda: none_held(client))
        (released,) = await held_flows(client, HOMES, "released")
        assert released["subject"] == case_id
        body = await post_alert(client, {"tenancy_reference": "C-1", **ORDER})
        assert body["case_id"] == case_id

        # A claim arriving under consent that does not cover the landlord is held at once,
        # with that reason, though the agreement is live; varied to cover it, released.
        other = await client.post("/v1/referrals", headers=MANAGER, json=naming("C-2", []))
        assert other.status_code == 201, other.text
        other_id = other.json()["id"]
        (flow,) = await wait_for(lambda: held_flows(client, HOMES))
        assert (flow["subject"], flow["reason"]) == (other_id, NOT_COVERED)
        varied = await client.put(
            f"/v1/referrals/{other_id}/consent", headers=MANAGER,
            json={"organisations": [LANDLORD]},
        )  # fmt: skip
        assert varied.status_code == 200 and varied.json()["state"] == "varied", varied.text
        await wait_for(lambda: none_held(client))


async def post_alert(client: Any, alert_body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post("/v1/arrears-alerts", headers=HOMES, json=alert_body)
    assert answer.status_code in (200, 201, 202), answer.text
    body: dict[str, Any] = answer.json()
    return body


async def none_held(client: Any) -> bool:
    return await held_flows(client, HOMES) == []


@pytest.mark.integration
async def test_a_referral_whose_consent_has_already_expired_is_refused_naming_it(
    make_settings,
) -> None:
    async with running_referral(make_settings("referral"), ManualClock(NOW)) as (_rt, client):
        body = referral_json()
        for day in ("2025-12-31", "2026-01-05"):  # before today, and today, by the clock
            late = {**body, "consent": {**body["consent"], "expires_on": day}}
            answer = await client.post("/v1/referrals", headers=MANAGER, json=late)
            assert answer.status_code == 422, answer.text
            assert answer.json()["errors"][0]["field"] == "consent.expires_on"
        ahead = {**body, "consent": {**body["consent"], "expires_on": "2026-06-01"}}
        assert (await client.post("/v1/referrals", headers=MANAGER, json=ahead)).status_code == 201
