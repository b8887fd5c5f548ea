"""The reconnection service in-process on the real broker and database, driven over HTTP with
a clock the tests move, and the events the tests play the other services' part with."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.reconnection.app import create_app
from shared.clock import ManualClock
from shared.codes import Route, SupportNeed
from shared.events.catalogue import CaseAllocated, ReferralAssessed, Referrer
from shared.events.envelope import Envelope, make_event
from shared.kafka import ensure_topics
from shared.settings import HearthSettings
from tests.helpers import publish
from tests.identity import bearer

ORG = "derby-homes"
DERBY = bearer("derby-homes")
LEEDS = bearer("leeds-council")


def opened(view: Any) -> bool:
    """Both opening events handled (they may arrive in either order)."""
    return view["case"]["phase"] == "engage" and view["case"]["referring_area"] is not None


def referral_assessed(case_id: str, at: datetime) -> Envelope:
    data = ReferralAssessed(
        case_id=case_id,
        person_id=f"person-{case_id}",
        route=Route.RECONNECTION,
        reasons=["no local connection to the area of rough sleeping"],
        referrer=Referrer(organisation="hackney-outreach", source="outreach_team"),
        received_at=at,
        support_needs=[SupportNeed.MENTAL_HEALTH, SupportNeed.DRUG_DEPENDENCY],
        referring_area="Hackney",
    )
    return make_event(data, source="tests", organisation=ORG, time=at)


def case_allocated(case_id: str, at: datetime) -> Envelope:
    data = CaseAllocated(
        case_id=case_id,
        person_id=f"person-{case_id}",
        route=Route.RECONNECTION,
        lead_worker_id="worker-1",
        team_id="safe-connections",
        team_leader_id="leader-1",
        target_hours_per_week=3,
        allocated_at=at,
    )
    return make_event(data, source="tests", organisation=ORG, time=at)


class Harness:
    def __init__(self, settings: HearthSettings, clock: ManualClock) -> None:
        self.settings = settings
        self.clock = clock
        self.app = create_app(settings, clock, manage_runtime=False)
        self.runtime = self.app.state.runtime
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://reconnection"
        )

    async def call(
        self, method: str, path: str, body: Any = None, expect: int = 200, headers: Any = None
    ) -> Any:
        response = await self.http.request(
            method, f"/v1{path}", json=body, headers=headers or DERBY
        )
        assert response.status_code == expect, (path, response.status_code, response.text)
        return response.json()

    async def wait_case(self, case_id: str, check: Callable[[Any], bool]) -> Any:
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            response = await self.http.get(f"/v1/reconnection-cases/{case_id}", headers=DERBY)
            if response.status_code == 200 and check(response.json()):
                return response.json()
            assert asyncio.get_running_loop().time() < deadline, response.text
            await asyncio.sleep(0.1)

    async def fire_due(self) -> int:
        return sum([await s.fire_due() for s in self.runtime.schedulers])


def events_of(records: list[Any], type_name: str) -> list[dict[str, Any]]:
    found = []
    for record in records:
        headers = {k: v.decode() for k, v in record.headers}
        if headers["ce_type"] == f"hearth.{type_name}.v1":
            found.append({"headers": headers, "data": json.loads(record.value)})
    return found


def phases_of(records: list[Any], case_id: str) -> list[tuple[str | None, str]]:
    return [
        (e["data"]["previous_phase"], e["data"]["phase"])
        for e in events_of(records, "ReconnectionPhaseChanged")
        if e["data"]["case_id"] == case_id
    ]


async def ready_for_a_date(h: Harness, case: str) -> str:
    """Open a case and take it, as briefly as the rules allow, to a complete pack."""
    cases = f"/reconnection-cases/{case}"
    start = h.clock.now()
    await publish(h.settings, referral_assessed(case, start), case_allocated(case, start))
    await h.wait_case(case, opened)
    for item in ("consent_recorded", "service_explained", "referral_information_confirmed"):
        await h.call("POST", f"{cases}/checklist/engage/{item}/complete", {})
    await h.call(
        "PUT",
        f"{cases}/local-connection",
        {"residence": [{"area": "Hull", "start": "2015-01-01", "end": "2025-12-31"}]},
    )
    contacts = [
        {"on": (start - timedelta(days=d)).date().isoformat(), "bedded_down": True} for d in (1, 3)
    ]
    await h.call(
        "PUT",
        f"{cases}/eligibility",
        {"street_contacts": contacts, "recourse_to_public_funds": True, "has_id": True},
    )
    await h.call("POST", f"{cases}/advance")
    await h.call("PUT", f"{cases}/destination", {"area": "Hull"})
    for item in (
        "id",
        "proof_of_benefits",
        "medical_information",
        "address_history",
        "priority_need_evidence",
        "covering_letter",
    ):
        await h.call("PUT", f"{cases}/presentation-pack/{item}", {"status": "done"})
    return cases


@asynccontextmanager
async def running_harness(settings: HearthSettings) -> AsyncIterator[Harness]:
    """The service on the real broker and database, its clock at 2 March 2026, 09:00."""
    await ensure_topics(settings)
    h = Harness(settings, ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)))
    await h.runtime.start(background_loops=False)
    try:
        yield h
    finally:
        await h.http.aclose()
        # Each test's database is its own; dropping it keeps the shared FerretDB small.
        await h.runtime.mongo.drop_database(settings.database_name)
        await h.runtime.stop()
