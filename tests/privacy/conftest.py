"""The privacy service in-process on the real broker and database, with real tokens; the
answers of the other services are published by the tests, as those services would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.privacy.app import PrivacyRuntime, create_app
from shared.clock import ManualClock
from shared.events.envelope import Envelope, follow_on, from_kafka
from shared.events.privacy_events import (
    PRIVACY_CONTRIBUTORS,
    ErasureCarriedOut,
    HeldRecord,
    SubjectDataContributed,
)
from shared.settings import HearthSettings
from tests.helpers import publish
from tests.identity import bearer

ORG = "derby-council"
OTHER = "leeds-council"
START = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)
DPO = bearer(ORG, roles=["data-protection-officer"])
OTHER_DPO = bearer(OTHER, roles=["data-protection-officer"])
ADMIN = bearer(ORG, roles=["organisation-admin"])
AUDITOR = bearer(ORG, roles=["auditor"])
CASEWORKER = bearer(ORG, roles=["caseworker"], teams=["team-a"], caseworker_id="w1")


class PrivacyApp:
    def __init__(self, settings: HearthSettings, clock: ManualClock) -> None:
        self.settings = settings
        self.clock = clock
        self.app = create_app(settings, clock, manage_runtime=False)
        self.runtime: PrivacyRuntime = self.app.state.runtime
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://privacy"
        )

    async def stop(self) -> None:
        await self.http.aclose()
        await self.app.state.verifier.close()
        await self.runtime.mongo.drop_database(self.settings.database_name)
        await self.runtime.stop()

    async def call(
        self, method: str, path: str, headers: Any, status: int, json: Any = None
    ) -> Any:
        response = await self.http.request(method, f"/v1{path}", headers=headers, json=json)
        assert response.status_code == status, (method, path, response.text)
        return response.json() if "json" in response.headers.get("content-type", "") else response


@pytest.fixture
async def privacy(make_settings: Callable[..., HearthSettings]) -> AsyncIterator[PrivacyApp]:
    service = PrivacyApp(make_settings("privacy"), ManualClock(START))
    await service.runtime.start()
    try:
        yield service
    finally:
        await service.stop()


def envelopes(records: list[Any], short_type: str) -> list[Envelope]:
    found = [from_kafka(r.key, r.value, r.headers) for r in records]
    return [e for e in found if e.short_type == short_type]


async def answer_access(
    settings: HearthSettings,
    request: Envelope,
    records: dict[str, list[HeldRecord]],
    services: tuple[str, ...] = PRIVACY_CONTRIBUTORS,
) -> list[Envelope]:
    """Each service's answer, as `shared/privacy_answers.py` makes it."""
    answers = [
        follow_on(
            request,
            SubjectDataContributed(
                request_id=request.data["request_id"],
                organisation=request.organisation,
                person_id=request.data["person_id"],
                service=service,
                records=records.get(service, []),
            ),
            source=service,
        )
        for service in services
    ]
    await publish(settings, *answers)
    return answers


async def answer_erasure(
    settings: HearthSettings, request: Envelope, services: tuple[str, ...] = PRIVACY_CONTRIBUTORS
) -> None:
    await publish(
        settings,
        *[
            follow_on(
                request,
                ErasureCarriedOut(
                    request_id=request.data["request_id"],
                    organisation=request.organisation,
                    person_id=request.data["person_id"],
                    service=service,
                    erased={"record": index + 1},
                    deidentified={"case": 1},
                ),
                source=service,
            )
            for index, service in enumerate(services)
        ],
    )
