"""A budget spend posted twice with one Idempotency-Key spends once (shared/idempotency.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.reconnection.store import CASES
from shared.kafka import ensure_topics
from tests.helpers import publish
from tests.reconnection.harness import (
    DERBY,
    Harness,
    case_allocated,
    opened,
    referral_assessed,
)

pytestmark = pytest.mark.integration

SPEND = {"amount_pence": 2400, "category": "travel"}


async def test_a_spend_posted_twice_with_one_key_spends_once(harness: Harness) -> None:
    h, case = harness, "ref-spend-1"
    await ensure_topics(h.settings)
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    await publish(h.settings, case_allocated(case, at), referral_assessed(case, at))
    await h.wait_case(case, opened)
    # A budget without walking the phases to reconnection planning (test_flow does that).
    await h.runtime.db[CASES].update_one(
        {"_id": case}, {"$set": {"state.budget.allocated_pence": 10_000}}
    )
    assert (await h.call("GET", f"/reconnection-cases/{case}"))["case"]["budget"][
        "allocated_pence"
    ] == 10_000
    path = f"/v1/reconnection-cases/{case}/budget/spend"
    keyed = {**DERBY, "Idempotency-Key": "ticket-4411"}

    first = await h.http.post(path, json=SPEND, headers=keyed)
    assert first.status_code == 200, first.text
    second = await h.http.post(path, json=SPEND, headers=keyed)
    assert second.status_code == 200 and second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    view = await h.call("GET", f"/reconnection-cases/{case}")
    assert [s["amount_pence"] for s in view["case"]["budget"]["spends"]] == [2400]

    clash = await h.http.post(path, json={**SPEND, "amount_pence": 2500}, headers=keyed)
    assert clash.status_code == 409 and clash.json()["errors"][0]["field"] == "Idempotency-Key"

    # Without a key each call is a spend, as before.
    assert (await h.http.post(path, json=SPEND, headers=DERBY)).status_code == 200
    view = await h.call("GET", f"/reconnection-cases/{case}")
    assert [s["amount_pence"] for s in view["case"]["budget"]["spends"]] == [2400, 2400]
