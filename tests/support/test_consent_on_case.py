"""Issue 16: the case shows the person's consent as it stands (given, withdrawn or expired),
kept from ConsentChanged on referral.events whether it came before or after the case was
opened, the newest only. Against the real broker and database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.support.app import create_app
from shared.clock import ManualClock
from shared.consent import ConsentPurpose, ConsentScope, give, withdraw
from shared.events.consent_events import ConsentChanged
from shared.events.envelope import make_event
from shared.kafka import ensure_topics
from tests.helpers import publish, wait_for
from tests.identity import bearer
from tests.support.helpers import ORG, allocated

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MANAGER = bearer(ORG, ["service-manager"])


def changed(consent: Any) -> Any:
    return make_event(ConsentChanged.of(consent), source="hearth/referral", organisation=ORG)


async def test_the_case_shows_its_consent(make_settings) -> None:
    settings = make_settings("support")
    await ensure_topics(settings)
    clock = ManualClock(START)
    app = create_app(settings, clock, manage_runtime=False)
    runtime, casework = app.state.runtime, app.state.casework
    scope = ConsentScope(
        organisations=("leeds-council",),
        purposes=(ConsentPurpose.CONTACT, ConsentPurpose.PARTNER_NOTICES),
        expires_on=date(2026, 6, 1),
    )
    consent = give(
        None, case_id="case-c", person_id="p-case-c", organisation=ORG, scope=scope,
        by="intake", at=START,
    )  # fmt: skip
    await runtime.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://support"
        ) as http:

            async def shown() -> dict[str, Any] | None:
                answer = await http.get("/v1/cases/case-c", headers=MANAGER)
                return answer.json().get("consent") if answer.status_code == 200 else None

            # Consent is given at intake, before the case is opened here.
            await publish(settings, changed(consent))
            await publish(settings, allocated("case-c", START))
            await wait_for(lambda: casework.store.get("case-c"))
            given = await wait_for(shown)
            assert given["state"] == "given" and given["organisations"] == ["leeds-council"]
            assert given["purposes"] == ["contact", "partner-notices"]
            assert given["expires_on"] == "2026-06-01"

            withdrawn = withdraw(consent, by="casey.worker", at=START + timedelta(days=1))
            await publish(settings, changed(withdrawn))

            async def withdrawal_shown() -> dict[str, Any] | None:
                view = await shown()
                return view if view and view["state"] == "withdrawn" else None

            view = await wait_for(withdrawal_shown)
            assert view["withdrawn_by"] == "casey.worker" and view["version"] == 2
            assert view["withdrawn_at"].startswith("2026-01-06")
            # A replay of the older event never steps it back.
            await publish(settings, changed(consent))
            await publish(settings, allocated("case-other", START))
            await wait_for(lambda: casework.store.get("case-other"))
            assert ((await shown()) or {}).get("state") == "withdrawn"

            # Expiry is the clock's: a live consent past its day shows expired.
            anew = give(
                withdrawn, case_id="case-c", person_id="p-case-c", organisation=ORG,
                scope=scope, by="casey.worker", at=START + timedelta(days=2),
            )  # fmt: skip
            await publish(settings, changed(anew))

            async def given_anew() -> dict[str, Any] | None:
                view = await shown()
                return view if view and view["version"] == 3 else None

            assert (await wait_for(given_anew))["state"] == "given"
            clock.set(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
            assert ((await shown()) or {}).get("state") == "expired"
    finally:
        await runtime.stop()
