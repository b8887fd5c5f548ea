"""The demo `./hearth demo` loads works against the platform as a newcomer would see it."""

from __future__ import annotations

import pytest

from devstack import demo_data
from devstack.demo import load_demo
from devstack.platform import Platform
from tests.e2e.conftest import Api
from tests.e2e.streams import eventually

pytestmark = pytest.mark.integration


async def test_demo_loads_and_every_referral_finds_its_route(all_services: Platform) -> None:
    load_demo(all_services)
    council = Api(all_services, demo_data.COUNCIL_KEY)
    referrals = council.get("referral", "/referrals").json()["referrals"]
    humans = [r for r in referrals if not r.get("automatic")]
    assert len(referrals) >= len(demo_data.REFERRALS[demo_data.COUNCIL_KEY])
    await eventually(
        lambda: council.get("support", "/escalated-cases").json()["cases"],
        what="the tenancy with an open case to be escalated by the arrears batch",
    )
    assert humans, referrals
