"""Record-level rules on support cases: a caseworker reaches their own caseload and their team's
cases; outside them a case is 404 (as if absent) and lists leave it out; a manager reaches
the organisation; every look at a case is on the audit topic with who, role and purpose."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from services.support.app import create_app
from shared.clock import ManualClock
from shared.events.envelope import from_kafka
from shared.kafka import ensure_topics
from shared.topics import Topic, topic_name
from tests.helpers import publish, wait_for
from tests.identity import bearer
from tests.support.helpers import ORG, allocated

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
# allocated() puts every case in team-a, led by worker-1.
TEAM_A_WORKER = bearer(ORG, ["caseworker"], ["team-a"], "worker-9")
TEAM_B_WORKER = bearer(ORG, ["caseworker"], ["team-b"], "worker-8")
LEAD_IN_TEAM_B = bearer(ORG, ["caseworker"], ["team-b"], "worker-1")  # leads it, moved team
TEAM_B_LEADER = bearer(ORG, ["team-leader"], ["team-b"])
MANAGER = bearer(ORG, ["service-manager"])
OTHER_ORG_MANAGER = bearer("leeds-council", ["service-manager"])


async def test_caseworkers_reach_their_team_and_their_own_cases(
    make_settings, topic_reader
) -> None:
    settings = make_settings("support")
    await ensure_topics(settings)
    app = create_app(settings, ManualClock(START), manage_runtime=False)
    runtime, casework = app.state.runtime, app.state.casework
    await runtime.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://support"
        ) as http:
            await publish(settings, allocated("case-r", START))
            await wait_for(lambda: casework.store.get("case-r"))
            audit = await topic_reader(topic_name(Topic.AUDIT, settings.topic_prefix))

            async def status(headers: object, path: str = "/v1/cases/case-r") -> int:
                return (await http.get(path, headers=headers)).status_code  # type: ignore[arg-type]

            assert await status(TEAM_A_WORKER) == 200
            assert await status(LEAD_IN_TEAM_B) == 200
            assert await status(MANAGER) == 200
            assert await status(TEAM_B_WORKER) == 404
            assert await status(TEAM_B_LEADER) == 404
            assert await status(OTHER_ORG_MANAGER) == 404
            # Changes too: outside the team it does not exist.
            contact = {
                "worker_id": "worker-8",
                "channel": "phone",
                "occurred_on": "2026-01-05",
                "duration_minutes": 10,
            }
            refused = await http.post(
                "/v1/cases/case-r/contacts", json=contact, headers=TEAM_B_WORKER
            )
            assert refused.status_code == 404 and refused.json()["detail"].startswith("case_id")

            caseload = "/v1/caseworkers/worker-1/cases"
            seen = await http.get(caseload, headers=TEAM_A_WORKER)
            assert [c["case_id"] for c in seen.json()["cases"]] == ["case-r"]
            assert (await http.get(caseload, headers=TEAM_B_WORKER)).json()["cases"] == []
            escalated = await http.get("/v1/escalated-cases", headers=TEAM_B_WORKER)
            assert escalated.status_code == 200

            looked = await http.get(
                "/v1/cases/case-r", headers={**MANAGER, "X-Purpose": "supervision"}
            )
            assert looked.status_code == 200
            records = await audit.read_until(
                lambda rs: any(
                    from_kafka(r.key, r.value, r.headers).data.get("purpose") == "supervision"
                    for r in rs
                )
            )
            entries = [from_kafka(r.key, r.value, r.headers).data for r in records]
            reads = [e for e in entries if e["record_id"] == "case-r" and e["method"] == "GET"]
            assert {(e["status"], e["outcome"]) for e in reads} >= {
                (200, "allowed"),
                (404, "refused"),
            }
            supervision = next(e for e in reads if e.get("purpose") == "supervision")
            assert supervision["actor_roles"] == ["service-manager"]
            assert supervision["organisation"] == ORG and supervision["action"] == "cases.read"
            assert supervision["actor_name"] and supervision["request_id"]
            caseloads = [e for e in entries if e["path"] == "/caseworkers/{worker_id}/cases"]
            assert sorted(e["listed_ids"] for e in caseloads) == [[], ["case-r"]]
            team_b = [e for e in entries if e["outcome"] == "refused" and e["status"] == 404]
            assert all(e["reason"].startswith("case_id: no such case") for e in team_b)
    finally:
        await runtime.stop()
