"""Issue 15: a notice to another organisation than the case's goes only under a live
data-sharing agreement, checked when the event is routed; otherwise the delivery is recorded
as held with the reason and never sent. Real broker, database and SMTP sink."""

from __future__ import annotations

import pytest

from shared.agreements import Purpose
from tests.notifications.conftest import Harness, eventually
from tests.notifications.events import allocated, at_risk, referral

pytestmark = pytest.mark.integration

NO_NOTICES = "held: no live partner-notices agreement between derby-council and derby-homes"


async def _officer_set_up(h: Harness) -> None:
    await h.api(
        "PUT", "/v1/settings", "key-homes", json={"housing_officer_email": "ho@homes.example"}
    )


async def test_housing_officer_and_referrer_notices_are_held_without_agreements(
    bare_harness: Harness,
) -> None:
    h = bare_harness
    await _officer_set_up(h)
    await h.publish(referral("case-x"), allocated("case-x", tenancy_id="derby-homes:T-100"))
    await h.publish(at_risk("case-x"))

    async def officer_held() -> list:
        return await h.deliveries(case_id="case-x", recipient_role="housing_officer")

    (officer,) = await eventually(officer_held)
    assert officer["status"] == "suppressed" and officer["reason"] == NO_NOTICES
    assert h.smtp.to("ho@homes.example") == []
    # The referrer (another organisation) still learns the referral arrived (its screening
    # outcome needs a referral-status agreement: test_routing_rules).
    (ack,) = await h.deliveries(case_id="case-x", recipient_role="referrer")
    assert ack["template"] == "referral_acknowledgement" and ack["status"] != "suppressed"

    # Live: the next alert reaches the housing officer.
    await h.grant("derby-homes", purposes=(Purpose.PARTNER_NOTICES,))
    await h.publish(
        at_risk("case-x", tenancy="derby-homes:T-100").model_copy(update={"id": "risk-2"})
    )
    await eventually(lambda: _sent_to(h, "ho@homes.example"))

    # Ended: held again.
    await h.end("derby-homes")

    async def ended() -> bool:
        docs = await h.runtime.db["agreements"].find({"status": "ended"}).to_list(None)
        return bool(docs)

    await eventually(ended)
    await h.publish(at_risk("case-x").model_copy(update={"id": "risk-3"}))

    async def held_again() -> list:
        found = await h.deliveries(trigger_event_id="risk-3", recipient_role="housing_officer")
        return [d for d in found if d["reason"] == NO_NOTICES]

    await eventually(held_again)


async def _sent_to(h: Harness, address: str) -> bool:
    return bool(h.smtp.to(address))


async def test_a_settings_allowlist_is_refused_naming_the_field(bare_harness: Harness) -> None:
    """Sharing with another organisation is an agreement's to say, not one side's settings."""
    answer = await bare_harness.api(
        "PUT", "/v1/settings", json={"sharing_agreements": ["derby-homes"]}
    )
    assert answer.status_code == 422 and "sharing_agreements" in answer.text
