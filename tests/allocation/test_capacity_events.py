"""Capacity over time, for demand against capacity (issue 18): allocation emits
CaseworkerCapacityChanged on case.events when a caseworker is added, their hours for casework
change, they move team or they leave; once each however often a request is retried."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.clock import ManualClock
from shared.events.catalogue import CaseworkerCapacityChanged
from shared.events.envelope import Envelope, from_kafka
from shared.kafka import ensure_topics
from shared.topics import Topic, topic_name
from tests.allocation.helpers import DERBY, START, Service

pytestmark = pytest.mark.integration


def changes(records: list[Any], worker_id: str) -> list[Envelope]:
    envelopes = [from_kafka(r.key, r.value, r.headers) for r in records]
    return [
        e
        for e in envelopes
        if e.short_type == "CaseworkerCapacityChanged" and e.subject == worker_id
    ]


async def test_capacity_changes_are_emitted_once_each(make_settings, topic_reader) -> None:
    settings = make_settings("allocation")
    await ensure_topics(settings)
    clock = ManualClock(START)
    service = await Service(settings, clock).start(background_loops=False)
    try:
        await service.team("team-a")
        await service.team("team-b", leader="bo")
        await service.worker("mia", hours=18.5)
        body = {
            "id": "mia",
            "team_id": "team-a",
            "name": "Mia",
            "email": "mia@derby.test",
            "specialisms": ["generalist"],
            "contracted_hours": 18.5,
            "max_caseload": 10,
        }
        retried = await service.client.post("/v1/caseworkers", json=body)
        assert retried.status_code == 409  # the id exists: nothing new

        async def patch(change: dict[str, Any]) -> None:
            response = await service.client.patch("/v1/caseworkers/mia", json=change)
            assert response.status_code == 200, response.text

        clock.advance(timedelta(days=30))
        await patch({"contracted_hours": 22.5})
        await patch({"contracted_hours": 22.5})  # retried: the hours are already there
        await patch({"name": "Mia Khan", "max_caseload": 12})  # not capacity for casework
        clock.advance(timedelta(days=30))
        await patch({"team_id": "team-b"})
        clock.advance(timedelta(days=30))
        await patch({"active": False})
        await patch({"active": False})

        reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))
        await reader.read_until(lambda r: len(changes(r, "mia")) >= 4)
        await reader.settle(1.0)
        emitted = changes(reader.records, "mia")
        expected = [
            ("team-a", 18.5, True, START),
            ("team-a", 22.5, True, START + timedelta(days=30)),
            ("team-b", 22.5, True, START + timedelta(days=60)),
            ("team-b", 22.5, False, START + timedelta(days=90)),
        ]
        assert [e.data for e in emitted] == [
            CaseworkerCapacityChanged(
                caseworker_id="mia", team_id=team, hours_per_week=hours, active=active,
                changed_at=at,
            ).model_dump(mode="json")
            for team, hours, active, at in expected
        ]  # fmt: skip
        assert len({e.id for e in emitted}) == 4
        assert {e.organisation for e in emitted} == {DERBY}
    finally:
        await service.stop()
