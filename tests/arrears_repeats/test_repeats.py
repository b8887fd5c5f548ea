"""A repeat costs nothing, and a replayed old alert is never news (issue 21), against the real
broker and database: the arrears part in process, its alerts from Kafka and over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.events.envelope import make_event
from shared.events.referral_events import ArrearsAlertSubmitted
from shared.kafka import settings_security
from shared.settings import HearthSettings
from shared.topics import Topic, topic_name
from tests.helpers import publish, wait_for
from tests.referral.arrears.harness import DERBY, data_of, headers_of, of_type, running
from tests.tenancies import tenancy_of

pytestmark = pytest.mark.integration

MEDIUM = {"arrears_balance": 600.0, "weeks_in_arrears": 5}
HIGH = {"arrears_balance": 600.0, "legal_stage": "notice_served"}
CLEARED = {"arrears_balance": 0.0}


def signals(records: list[Any]) -> dict[str, dict[str, Any]]:
    """TenancyAtRisk by event id: at least once on the wire (a relay sweep may republish),
    exactly once by id."""
    return {headers_of(r)["ce_id"]: data_of(r) for r in of_type(records, "TenancyAtRisk")}


def alert(ref: str, **fields: Any):
    data = ArrearsAlertSubmitted(tenancy_reference=ref, **fields)
    return make_event(data, source="ha-system", organisation="derby-homes")


async def caught_up(settings: HearthSettings) -> bool:
    """The arrears part's consumer group has committed every alert on the topic."""
    name = topic_name(Topic.ARREARS_ALERTS, settings.topic_prefix)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka, **settings_security(settings))
    ends_reader = AIOKafkaConsumer(bootstrap_servers=settings.kafka, **settings_security(settings))
    await admin.start()
    await ends_reader.start()
    try:
        partitions = [TopicPartition(name, p) for p in range(settings.topic_partitions)]
        ends = await ends_reader.end_offsets(partitions)
        group = f"{settings.topic_prefix}referral-arrears"
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
        return all(
            ends[tp] == 0 or (tp in committed and committed[tp].offset >= ends[tp])
            for tp in partitions
        )
    finally:
        await ends_reader.stop()
        await admin.close()


async def documents(svc: Any, refs: list[str]) -> dict[str, dict[str, Any]]:
    ids = [tenancy_of("derby-homes", ref) for ref in refs]
    found = svc.runtime.db["tenancy_risk"].find({"_id": {"$in": ids}})
    return {doc["_id"]: doc async for doc in found}


async def test_a_night_of_repeats_writes_nothing_and_publishes_nothing(
    make_settings, topic_reader
) -> None:
    settings = make_settings("referral")
    refs = [f"R-{i}" for i in range(40)]
    async with running(settings) as svc:
        risk = await topic_reader(topic_name(Topic.TENANCY_RISK, settings.topic_prefix))
        await publish(settings, *(alert(ref, **MEDIUM) for ref in refs))
        await risk.read_until(lambda r: len(signals(r)) >= 40, timeout=60)
        before = await documents(svc, refs)

        # The next night: every tenancy again with the same figures (new events, later), and
        # four of them worse.
        await publish(settings, *(alert(ref, **MEDIUM) for ref in refs))
        await publish(settings, *(alert(ref, **HIGH) for ref in refs[:4]))
        await wait_for(lambda: caught_up(settings), timeout=60, interval=0.3)
        await risk.settle(1.5)
        assert len(signals(risk.records)) == 44
        after = await documents(svc, refs)
        for ref in refs[4:]:
            tid = tenancy_of("derby-homes", ref)
            # Not written at all: the same version, the same last write.
            assert after[tid]["version"] == before[tid]["version"], ref
            assert after[tid]["updated_at"] == before[tid]["updated_at"], ref
        for ref in refs[:4]:
            tid = tenancy_of("derby-homes", ref)
            assert after[tid]["signalled_level"] == "high"
            assert after[tid]["version"] > before[tid]["version"]


async def test_a_replayed_old_alert_after_the_arrears_were_cleared_is_not_news(
    make_settings, topic_reader
) -> None:
    """An operator replays the topic, or a partner re-sends old events: the medium alert that
    changed nothing (so was never written) must not open a new episode after the clearing."""
    settings = make_settings("referral")
    first, repeat, cleared = alert("X-1", **MEDIUM), alert("X-1", **MEDIUM), alert("X-1", **CLEARED)
    tid = tenancy_of("derby-homes", "X-1")
    async with running(settings) as svc:
        risk = await topic_reader(topic_name(Topic.TENANCY_RISK, settings.topic_prefix))
        intake = await topic_reader(topic_name(Topic.REFERRAL_INTAKE, settings.topic_prefix))
        await publish(settings, first, repeat, cleared)
        await risk.read_until(lambda r: len(of_type(r, "TenancyAtRisk")) >= 1, timeout=60)

        async def episode_ended() -> bool:
            doc = await svc.runtime.db["tenancy_risk"].find_one({"_id": tid})
            return bool(doc and doc["episode"] == 1)

        await wait_for(episode_ended, timeout=60)
        await publish(settings, repeat, first, repeat)  # the replay
        await wait_for(lambda: caught_up(settings), timeout=60, interval=0.3)
        await risk.settle(1.5)
        assert len(signals(risk.records)) == 1, signals(risk.records)
        doc = await svc.runtime.db["tenancy_risk"].find_one({"_id": tid})
        assert doc["episode"] == 1 and doc["signalled_level"] is None

        # A new alert after the clearing is news again: a new episode.
        await publish(settings, alert("X-1", **MEDIUM))
        records = await risk.read_until(lambda r: len(signals(r)) >= 2, timeout=60)
        second = [s for s in signals(records).values() if s["alert_id"] != first.id]
        assert len(second) == 1 and second[0]["risk_level"] == "medium"
        assert second[0]["alert_id"] != repeat.id
        await intake.settle(1.0)
        submitted = {headers_of(r)["ce_id"] for r in of_type(intake.records, "ReferralSubmitted")}
        assert len(submitted) == 1  # the first episode's referral is still pending: no other


async def test_the_landlords_answers_say_unchanged_for_a_repeat_and_why_for_a_stale_alert(
    make_settings,
) -> None:
    settings = make_settings("referral")
    tid = tenancy_of("derby-homes", "H-1")
    async with running(settings) as svc:
        post = "/v1/arrears-alerts"
        first = {"tenancy_reference": "H-1", **MEDIUM, "reported_on": "2026-01-04"}
        answer = await svc.client.post(post, headers=DERBY, json=first)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "accepted"
        written = await svc.runtime.db["tenancy_risk"].find_one({"_id": tid})

        again = {**first, "alert_id": "nightly-2"}  # the same figures, the sender's new id
        repeat = (await svc.client.post(post, headers=DERBY, json=again)).json()
        assert repeat["status"] == "unchanged" and repeat["risk_level"] == "medium"
        assert "reason" not in repeat

        late = {**first, **HIGH, "reported_on": "2026-01-02", "alert_id": "backfill-1"}
        stale = (await svc.client.post(post, headers=DERBY, json=late)).json()
        assert stale["status"] == "unchanged" and not stale.get("signalled")
        assert stale["reason"].startswith("stale:")

        unchanged = await svc.runtime.db["tenancy_risk"].find_one({"_id": tid})
        assert unchanged["version"] == written["version"]
        assert unchanged["last_alert"] == written["last_alert"]

        # The same alert as the first: it changed the state, so it is known by its id.
        duplicate = (await svc.client.post(post, headers=DERBY, json=first)).json()
        assert duplicate["status"] == "duplicate"
