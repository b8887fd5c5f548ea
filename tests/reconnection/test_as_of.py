"""Acceptance needs time: Tool 3's local-connection answer "as of" a chosen day, outside
production only (issue 20: "local-connection and eligibility answers are only ever 'as of
today'")."""

from __future__ import annotations

import pytest

from tests.helpers import publish
from tests.reconnection.harness import (
    DERBY,
    Harness,
    case_allocated,
    opened,
    referral_assessed,
    running_harness,
)

pytestmark = pytest.mark.integration

# Six months in Leeds to 31 August 2025: "6 of the last 12 months" (Tool 3) as of 1 September
# 2025; as of today in the test (2 March 2026) only 182 of the 365 days, not half.
RESIDENCE = {"residence": [{"area": "Leeds", "start": "2025-03-01", "end": "2025-08-31"}]}


async def _open(h: Harness, case: str) -> str:
    at = h.clock.now()
    await publish(h.settings, referral_assessed(case, at), case_allocated(case, at))
    await h.wait_case(case, opened)
    return f"/reconnection-cases/{case}/local-connection"


async def test_a_scenario_judges_the_local_connection_as_of_its_own_day(make_settings) -> None:
    async with running_harness(make_settings("reconnection", environment="test")) as h:
        path = await _open(h, "ref-as-of-1")
        today = await h.call("PUT", path, RESIDENCE)
        then = await h.call("PUT", f"{path}?as_of=2025-09-01", RESIDENCE)
        areas = [
            [c["area"] for c in view["case"]["local_connection"]["result"]["candidates"]]
            for view in (today, then)
        ]
        assert areas == [[], ["Leeds"]], areas
        assert then["case"]["local_connection"]["result"]["assessed_on"] == "2025-09-01"


async def test_production_refuses_as_of_naming_it(make_settings) -> None:
    settings = make_settings("reconnection", environment="production")
    async with running_harness(settings) as h:
        path = await _open(h, "ref-as-of-2")
        refused = await h.http.put(f"/v1{path}?as_of=2025-09-01", json=RESIDENCE, headers=DERBY)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] in ("as_of", "query.as_of")
