"""Allocation, support and reconnection answer the privacy service's requests for what they
hold themselves, over the real broker and database: a subject-access request gets every
record with its words; an erasure keeps the cases de-identified and is answered again when
asked again; an organisation with nothing about the person still answers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.allocation.app import create_app as allocation_app
from services.reconnection.app import create_app as reconnection_app
from services.support.app import create_app as support_app
from shared.clock import ManualClock
from shared.codes import Route, Stage, SupportNeed
from shared.events.catalogue import CaseAllocated, ReferralAssessed
from shared.events.envelope import Envelope, from_kafka, make_event
from shared.events.privacy_events import (
    ErasureCarriedOut,
    ErasureRequested,
    ErasureScope,
    SubjectAccessRequested,
    SubjectDataContributed,
)
from shared.events.referral_events import Referrer
from shared.kafka import ensure_topics
from shared.mongo import make_mongo_client
from shared.settings import HearthSettings
from shared.topics import Topic, topic_name
from tests.helpers import publish, wait_for
from tests.identity import bearer

pytestmark = pytest.mark.integration

ORG = "derby-homes"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PERSON = "person-zoe"
TENANCY = f"{ORG}:T-4471"
NOTES = "Zoë Ó Súilleabháin said the boiler is broken"
LEARNING = "Zoë's sister Aoife in Leeds took her in"
SERVICES = ("allocation", "support", "reconnection")


def assessed(case_id: str, route: Route) -> Envelope:
    data = ReferralAssessed(
        case_id=case_id,
        person_id=PERSON,
        route=route,
        reasons=["accepted"],
        referrer=Referrer(organisation="derby-council", source="housing_officer"),
        received_at=START,
        support_needs=[SupportNeed.MENTAL_HEALTH],
        tenancy_id=TENANCY,
        referring_area="Derby",
    )
    return make_event(data, source="tests", organisation=ORG)


def allocated(case_id: str) -> Envelope:
    data = CaseAllocated(
        case_id=case_id,
        person_id=PERSON,
        route=Route.SUPPORT,
        lead_worker_id="worker-1",
        team_id="team-a",
        team_leader_id="leader-1",
        stage=Stage.STAGE_1,
        target_hours_per_week=2.0,
        allocated_at=START,
        tenancy_id=TENANCY,
        referrer_organisation="derby-council",
    )
    return make_event(data, source="tests", organisation=ORG)


def request(data: Any, organisation: str = ORG) -> Envelope:
    return make_event(data, source="privacy", organisation=organisation)


class Platform:
    """The three services in this process, each with its own database."""

    def __init__(self, make_settings: Callable[..., HearthSettings]) -> None:
        clock = ManualClock(START)
        keys = ["test-1:casework-privacy-quarantine-key-0123456789abcdef"]
        self.settings = {name: make_settings(name, quarantine_keys=keys) for name in SERVICES}
        factories = {
            "allocation": allocation_app,
            "support": support_app,
            "reconnection": reconnection_app,
        }
        self.apps = {
            name: factories[name](self.settings[name], clock, manage_runtime=False)
            for name in SERVICES
        }

    async def start(self) -> None:
        await ensure_topics(self.settings["support"])
        for app in self.apps.values():
            await app.state.runtime.start()

    async def stop(self) -> None:
        for app in self.apps.values():
            await app.state.runtime.stop()

    def http(self, name: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.apps[name])
        return httpx.AsyncClient(transport=transport, base_url="http://t", headers=bearer(ORG))

    async def documents(self, name: str) -> list[dict[str, Any]]:
        """Every document of every collection of the service's database."""
        settings = self.settings[name]
        client = make_mongo_client(settings)
        try:
            db = client[settings.database_name]
            found = []
            for collection in await db.list_collection_names():
                found += await db[collection].find().to_list()
            return found
        finally:
            await client.close()


@pytest.fixture
async def platform(make_settings: Callable[..., HearthSettings]) -> AsyncIterator[Platform]:
    running = Platform(make_settings)
    await running.start()
    yield running
    await running.stop()


def answers(records: list[Any], model: type[Any], request_id: str) -> dict[str, Any]:
    found = {}
    for record in records:
        envelope = from_kafka(record.key, record.value, record.headers)
        if (
            envelope.type.endswith(f".{model.TYPE}.v1")
            and envelope.data["request_id"] == request_id
        ):
            assert record.key.decode() == PERSON  # keyed by person
            found[envelope.data["service"]] = model.model_validate(envelope.data)
    return found


async def test_casework_services_answer_access_and_erasure(
    platform: Platform, identities: Any, topic_reader: Any
) -> None:
    settings = platform.settings["support"]
    await publish(
        settings,
        assessed("case-s", Route.SUPPORT),
        assessed("case-r", Route.RECONNECTION),
        allocated("case-s"),
    )
    support, reconnection = platform.http("support"), platform.http("reconnection")
    async with support, reconnection:

        async def support_open() -> bool:
            return (await support.get("/v1/cases/case-s")).status_code == 200

        async def reconnection_open() -> bool:
            return (await reconnection.get("/v1/reconnection-cases/case-r")).status_code == 200

        await wait_for(support_open)
        await wait_for(reconnection_open)
        contact = {
            "worker_id": "worker-1",
            "channel": "home_visit",
            "occurred_on": "2026-03-02",
            "duration_minutes": 90,
            "notes": NOTES,
        }
        r = await support.post("/v1/cases/case-s/contacts", json=contact)
        assert r.status_code == 201, r.text
        learning = {"case_id": "case-r", "points": [LEARNING]}
        r = await reconnection.post("/v1/learning-log", json=learning)
        assert r.status_code == 201, r.text

    reader = await topic_reader(topic_name(Topic.PRIVACY_RESPONSES, settings.topic_prefix))
    access = SubjectAccessRequested(
        request_id="sar-1", organisation=ORG, person_id=PERSON, requested_at=START
    )
    elsewhere = SubjectAccessRequested(
        request_id="sar-2", organisation="leeds-council", person_id=PERSON, requested_at=START
    )
    await publish(settings, request(access), request(elsewhere, "leeds-council"))

    def all_answered(request_id: str, model: type[Any]) -> Callable[[list[Any]], bool]:
        return lambda records: len(answers(records, model, request_id)) == len(SERVICES)

    await reader.read_until(all_answered("sar-1", SubjectDataContributed), timeout=60)
    await reader.read_until(all_answered("sar-2", SubjectDataContributed), timeout=60)
    bundle = answers(reader.records, SubjectDataContributed, "sar-1")
    kinds = {service: {r.kind for r in a.records} for service, a in bundle.items()}
    assert "waiting-list entry" in kinds["allocation"]
    assert {"support case", "contact-log entry"} <= kinds["support"]
    assert {"reconnection case", "learning-log entry"} <= kinds["reconnection"]
    text = " ".join(a.model_dump_json() for a in bundle.values())
    assert NOTES in text and LEARNING in text and TENANCY in text
    nothing = answers(reader.records, SubjectDataContributed, "sar-2")
    assert all(not a.records for a in nothing.values())  # another organisation: nothing held

    erase = ErasureRequested(
        request_id="er-1", organisation=ORG, person_id=PERSON, basis="request", requested_at=START
    )
    await publish(settings, request(erase))
    await reader.read_until(all_answered("er-1", ErasureCarriedOut), timeout=60)
    done = answers(reader.records, ErasureCarriedOut, "er-1")
    assert done["allocation"].deidentified == {"waiting-list entry": 2}
    assert done["support"].deidentified == {"support case": 1}
    assert done["reconnection"].deidentified == {"reconnection case": 1, "learning-log entry": 1}

    # Asked again (the privacy service retrying): harmless, and answered again.
    await publish(settings, request(erase))
    await reader.read_until(
        lambda records: (
            sum(
                1
                for r in records
                if from_kafka(r.key, r.value, r.headers).type.endswith(".ErasureCarriedOut.v1")
            )
            >= 2 * len(SERVICES)
        ),
        timeout=60,
    )
    for name in SERVICES:
        stored = repr(await platform.documents(name))
        for value in (NOTES, LEARNING, "T-4471", "Zoë"):
            assert value not in stored, (name, value)
        assert "case-s" in stored or "case-r" in stored  # the cases are still there
    case = await platform.apps["support"].state.casework.store.get("case-s")
    assert case["stage"] == "stage_1" and case["status"] == "open"
    assert case["tenancy_id"] is None and case["contacts"][0]["duration_minutes"] == 90

    # Retention of some cases only, and not casework: answered with nothing done.
    other_types = ErasureRequested(
        request_id="er-2",
        organisation=ORG,
        person_id=PERSON,
        basis="retention",
        scope=ErasureScope.CASES,
        case_ids=["case-s"],
        record_types=["deliveries"],
        requested_at=START,
    )
    await publish(settings, request(other_types))
    await reader.read_until(all_answered("er-2", ErasureCarriedOut), timeout=60)
    assert all(
        not a.deidentified and not a.erased
        for a in answers(reader.records, ErasureCarriedOut, "er-2").values()
    )
