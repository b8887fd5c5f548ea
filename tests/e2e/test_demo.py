"""The demo `./hearth demo` loads works against the platform as a newcomer would see it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from devstack import demo_data
from devstack.demo import load_demo
from devstack.keycloak_admin import KeycloakAdmin
from devstack.platform import Platform
from devstack.provision import Infrastructure
from tests.e2e.conftest import Api
from tests.e2e.streams import eventually

pytestmark = pytest.mark.integration


async def test_demo_loads_and_every_referral_finds_its_route(
    all_services: Platform, infra: Infrastructure
) -> None:
    load_demo(all_services, infra.keycloak_url)
    council = Api(all_services, demo_data.COUNCIL_KEY)
    referrals = council.get("referral", "/referrals").json()["referrals"]
    humans = [r for r in referrals if not r.get("automatic")]
    assert len(referrals) >= len(demo_data.REFERRALS[demo_data.COUNCIL_KEY])
    await eventually(
        lambda: council.get("support", "/escalated-cases").json()["cases"],
        what="the tenancy with an open case to be escalated by the arrears batch",
    )
    assert humans, referrals

    # The demo's own auditor sees who looked at those referrals, on an intact chain.
    admin = KeycloakAdmin(infra.keycloak_url, *infra.keycloak_admin)
    token = admin.password_token(
        "hearth", "hearth-cli", "derby-council.auditor", demo_data.DEMO_PASSWORD
    )
    auditor = {"Authorization": f"Bearer {token}"}
    audit = all_services.services["audit"].url

    def entries() -> list[dict[str, object]]:
        answer = httpx.get(f"{audit}/v1/audit/entries", headers=auditor, timeout=10)
        found: list[dict[str, object]] = answer.json()
        return [e for e in found if e["actor_name"] == "derby-council.service-manager"]

    await eventually(entries, what="the service manager's reads to reach the audit trail")
    verification = await asyncio.to_thread(
        httpx.get, f"{audit}/v1/audit/verification", headers=auditor, timeout=30
    )
    check = verification.json()
    assert check["intact"] is True and check["entries_checked"] > 0, check
