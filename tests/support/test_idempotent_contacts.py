"""A contact logged with an Idempotency-Key is logged once however often the call is retried;
the key is the caller's organisation's own (shared/idempotency.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from services.support.app import create_app
from shared.clock import ManualClock
from shared.events.catalogue import CaseAllocated
from shared.events.envelope import make_event
from shared.kafka import ensure_topics
from tests.helpers import publish, wait_for
from tests.support.helpers import DERBY, LEEDS, allocated

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CONTACT = {
    "worker_id": "worker-1",
    "channel": "home_visit",
    "occurred_on": "2026-01-05",
    "duration_minutes": 45,
    "notes": "first visit",
}


async def test_a_contact_posted_twice_with_one_key_is_logged_once(make_settings) -> None:
    settings = make_settings("support")
    await ensure_topics(settings)
    app = create_app(settings, ManualClock(START), manage_runtime=False)
    runtime, casework = app.state.runtime, app.state.casework
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            leeds_case = CaseAllocated.model_validate(allocated("case-l", START).data)
            await publish(
                settings,
                allocated("case-d", START),
                make_event(leeds_case, source="allocation", organisation="leeds-council"),
            )
            await wait_for(lambda: casework.store.get("case-d"))
            await wait_for(lambda: casework.store.get("case-l"))

            async def contacts(case_id: str, headers: dict[str, str]) -> list[object]:
                view = await http.get(f"/v1/cases/{case_id}", headers=headers)
                assert view.status_code == 200, view.text
                return list(view.json()["contacts"])

            keyed = DERBY | {"Idempotency-Key": "visit-2026-01-05"}
            first = await http.post("/v1/cases/case-d/contacts", json=CONTACT, headers=keyed)
            assert first.status_code == 201, first.text
            assert "Idempotent-Replayed" not in first.headers
            second = await http.post("/v1/cases/case-d/contacts", json=CONTACT, headers=keyed)
            assert second.status_code == 201 and second.json() == first.json()
            assert second.headers["Idempotent-Replayed"] == "true"
            assert len(await contacts("case-d", DERBY)) == 1

            # A retry storm (the client timed out three times at once): still one contact.
            storm = DERBY | {"Idempotency-Key": "visit-2026-01-06"}
            body = {**CONTACT, "occurred_on": "2026-01-06"}
            answers = await asyncio.gather(
                *(http.post("/v1/cases/case-d/contacts", json=body, headers=storm) for _ in "abc")
            )
            assert [a.status_code for a in answers] == [201, 201, 201]
            assert len({a.json()["contact_id"] for a in answers}) == 1
            assert len(await contacts("case-d", DERBY)) == 2

            # The same key with another body: refused, naming the header; nothing logged.
            other = {**CONTACT, "duration_minutes": 60}
            clash = await http.post("/v1/cases/case-d/contacts", json=other, headers=keyed)
            assert clash.status_code == 409, clash.text
            assert clash.json()["errors"][0]["field"] == "Idempotency-Key"
            assert clash.json()["detail"].startswith("Idempotency-Key: ")
            assert len(await contacts("case-d", DERBY)) == 2

            # A refused first attempt (422) is not kept: the corrected call with the key works.
            bad = {**CONTACT, "channel": "carrier_pigeon"}
            fixme = DERBY | {"Idempotency-Key": "visit-fixed"}
            r = await http.post("/v1/cases/case-d/contacts", json=bad, headers=fixme)
            assert r.status_code == 422
            r = await http.post("/v1/cases/case-d/contacts", json=CONTACT, headers=fixme)
            assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
            assert len(await contacts("case-d", DERBY)) == 3

            # Another organisation using the same key has a key of its own.
            leeds = LEEDS | {"Idempotency-Key": "visit-2026-01-05"}
            r = await http.post("/v1/cases/case-l/contacts", json=other, headers=leeds)
            assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
            assert len(await contacts("case-l", LEEDS)) == 1

            # A malformed key is an input error naming the header.
            r = await http.post(
                "/v1/cases/case-d/contacts", json=CONTACT,
                headers=DERBY | {"Idempotency-Key": "x" * 201},
            )  # fmt: skip
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "Idempotency-Key"
            # Without a key, as before: each call is a contact.
            r = await http.post("/v1/cases/case-d/contacts", json=CONTACT, headers=DERBY)
            assert r.status_code == 201
            assert len(await contacts("case-d", DERBY)) == 4
    finally:
        await runtime.stop()
