"""`POST /v1/reconnection-cases`: a named way to open a reconnection case (Phase 1, identify),
beside the spine's ReferralAssessed and CaseAllocated, which then fill it in; and the
organisation's service area (Tool 3, criterion 1), set once and applied to its assessments."""

from __future__ import annotations

import pytest

from tests.helpers import publish
from tests.identity import bearer
from tests.reconnection.harness import (
    DERBY,
    LEEDS,
    ORG,
    Harness,
    case_allocated,
    opened,
    referral_assessed,
)

pytestmark = pytest.mark.integration

OPEN = {
    "case_id": "ref-open-1",
    "person_id": "person-open-1",
    "referring_area": "Hackney",
    "referrer_organisation": "hackney-outreach",
    "support_needs": ["mental_health", "drug_dependency"],
}


async def test_a_case_is_opened_by_its_own_route_then_the_spine_fills_it_in(
    harness: Harness,
) -> None:
    """Phase 1 - Identify: "A client is identified as suitable for referral to the project"."""
    h = harness
    response = await h.http.post("/v1/reconnection-cases", json=OPEN, headers=DERBY)
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == "/v1/reconnection-cases/ref-open-1"
    case = response.json()["case"]
    assert (case["phase"], case["organisation"], case["referring_area"]) == (
        "identify",
        ORG,
        "Hackney",
    )
    again = await h.http.post("/v1/reconnection-cases", json=OPEN, headers=DERBY)
    assert again.status_code == 200 and again.json()["case"]["opened_at"] == case["opened_at"]

    # The referral's assessment and the allocation, when they come, complete it.
    at = h.clock.now()
    await publish(h.settings, referral_assessed("ref-open-1", at), case_allocated("ref-open-1", at))
    view = await h.wait_case("ref-open-1", opened)
    assert view["case"]["lead_worker_id"] == "worker-1"
    assert [e["phase"] for e in view["case"]["history"]] == ["identify", "allocate", "engage"]


async def test_opening_is_refused_to_a_role_without_casework_and_to_another_organisation(
    harness: Harness,
) -> None:
    h = harness
    for roles in (["auditor"], ["income-officer"], ["organisation-admin"]):
        refused = await h.http.post("/v1/reconnection-cases", json=OPEN, headers=bearer(ORG, roles))
        assert refused.status_code == 403, (roles, refused.text)
    await h.call("GET", "/reconnection-cases/ref-open-1", expect=404)  # nothing was opened

    await h.call("POST", "/reconnection-cases", OPEN, expect=201)
    # Another organisation cannot open (or learn about) Derby's case under its id.
    taken = await h.http.post("/v1/reconnection-cases", json=OPEN, headers=LEEDS)
    assert taken.status_code == 409
    assert ORG not in taken.text and "Hackney" not in taken.text
    await h.call("GET", "/reconnection-cases/ref-open-1", expect=404, headers=LEEDS)
    view = await h.call("GET", "/reconnection-cases/ref-open-1")
    assert view["case"]["organisation"] == ORG
    # A body that names nothing to open is refused, naming the field.
    missing = await h.http.post("/v1/reconnection-cases", json={}, headers=DERBY)
    assert missing.status_code == 422 and "case_id" in missing.text


TRI_BOROUGH = {
    "name": "tri-borough",
    "boroughs": ["LB of Hackney", "LB of Tower Hamlets", "City of London"],
}


async def test_the_organisations_service_area_decides_the_first_criterion(
    harness: Harness,
) -> None:
    """Tool 3, criterion 1: "A local connection outside of LB of Hackney, LB of Tower Hamlets
    and the City of London but within the UK." Set per organisation."""
    h = harness
    assert await h.call("GET", "/service-area") is None
    admin = bearer(ORG, ["organisation-admin"])
    await h.call("PUT", "/service-area", TRI_BOROUGH, headers=admin)
    assert (await h.call("GET", "/service-area"))["boroughs"] == TRI_BOROUGH["boroughs"]
    assert await h.call("GET", "/service-area", headers=LEEDS) is None  # Derby's own
    auditor = bearer(ORG, ["auditor"])
    refused = await h.http.put("/v1/service-area", json=TRI_BOROUGH, headers=auditor)
    assert refused.status_code == 403

    case = "ref-area-1"
    cases = f"/reconnection-cases/{case}"
    at = h.clock.now()
    await publish(h.settings, referral_assessed(case, at), case_allocated(case, at))
    await h.wait_case(case, opened)
    view = await h.call(
        "PUT",
        f"{cases}/local-connection",
        {
            "residence": [{"area": "Tower Hamlets", "start": "2015-01-01", "end": "2025-12-31"}],
            "family": [
                {"area": "Douglas", "relationship": "mother", "years_in_area": 30},
            ],
            "countries": [{"area": "Douglas", "country": "Isle of Man"}],
        },
    )
    result = view["case"]["local_connection"]["result"]
    assert result["candidates"] == []
    reasons = {e["area"]: e["reason"] for e in result["excluded"]}
    assert reasons == {
        "Tower Hamlets": "Tower Hamlets is within the service area",
        "Douglas": "Douglas (Isle of Man) is not within the UK",
    }
    view = await h.call(
        "PUT",
        f"{cases}/eligibility",
        {
            "street_contacts": [{"on": "2026-03-01", "bedded_down": True}] * 2,
            "recourse_to_public_funds": True,
        },
    )
    first = view["case"]["eligibility"]["result"]["criteria"][0]
    assert first["status"] == "not_met"
    await h.call("PUT", f"{cases}/destination", {"area": "Tower Hamlets"}, expect=409)
