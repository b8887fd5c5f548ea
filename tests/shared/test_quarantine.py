"""Dead letters without personal data (issue 16, part 6), against the real broker and database:
the failed record is sealed in the service's quarantine, the dead-letter topic gets only a
reference, an operator with the key opens and replays it, erasure and retention delete it."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import bson
import pytest
from pymongo.errors import AutoReconnect

from shared.clock import ManualClock
from shared.consumer import InfrastructureUnavailable, PermanentError
from shared.events.base import EventData
from shared.events.envelope import Envelope, make_event, to_kafka
from shared.kafka import ensure_topics
from shared.mongo import make_mongo_client
from shared.quarantine import (
    COLLECTION,
    HeldRecord,
    Quarantine,
    QuarantineKeyError,
    subject_ids,
)
from shared.quarantine_cli import run as dead_letters
from shared.runtime import ServiceRuntime
from shared.settings import HearthSettings
from shared.topics import Topic, dlq_topic_name
from tests.helpers import open_dead_letter, publish, wait_for

pytestmark = pytest.mark.integration

NAME = "Zoë Ó Súilleabháin"
BORN = "1979-11-23"
ORG = "derby-homes"
OLD_KEY = "old-1:an-older-quarantine-secret-0123456789abcdef"
NEW_KEY = "new-2:the-newest-quarantine-secret-0123456789abcdef"


class ProbeNoted(EventData):
    TYPE: ClassVar[str] = "ProbeNoted"
    TOPIC: ClassVar[str] = Topic.CASE_EVENTS

    case_id: str
    note: str  # free text: personal


def noted(case_id: str) -> Envelope:
    return make_event(
        ProbeNoted(case_id=case_id, note=f"{NAME}, born {BORN}"), source="tests", organisation=ORG
    )


class Probe:
    """A service whose handler refuses notes until it is fixed."""

    def __init__(self, settings: HearthSettings) -> None:
        self.runtime = ServiceRuntime(settings, configure_logs=False)
        self.fixed = False
        self.handled: list[str] = []
        consumer = self.runtime.consumer([Topic.CASE_EVENTS])

        @consumer.on(ProbeNoted)
        async def note(envelope: Envelope, data: ProbeNoted) -> None:
            if not self.fixed:
                raise PermanentError("note: not accepted by this version")
            self.handled.append(data.note)


async def test_a_dead_letter_is_a_reference_and_its_record_is_sealed_opened_and_replayed(
    make_settings, topic_reader
) -> None:
    settings = make_settings("probe")
    dlq_topic = dlq_topic_name("probe", settings.topic_prefix)
    await ensure_topics(settings, [dlq_topic])
    probe = Probe(settings)
    await probe.runtime.start()
    try:
        await publish(settings, noted("case-q1"))
        dlq = await topic_reader(dlq_topic)
        [dead] = await dlq.read_until(lambda r: len(r) >= 1)

        # The dead letter names the quarantine entry and no one.
        reference = json.loads(dead.value)
        headers = {k: v.decode() for k, v in dead.headers}
        assert set(reference) == {
            "quarantine_id",
            "service",
            "topic",
            "partition",
            "offset",
            "group",
            "reason",
            "error_type",
        }
        assert reference["service"] == "probe" and reference["error_type"] == "PermanentError"
        assert headers["hearth_dlq_quarantine_id"] == reference["quarantine_id"]
        everything = dead.value.decode() + json.dumps(headers, ensure_ascii=False)
        for value in ("Zoë", "Zo\\u00eb", "Súilleabháin", BORN):
            assert value not in everything

        # The stored entry holds no plaintext personal value, but what erasure needs.
        raw = await probe.runtime.db[COLLECTION].find_one({"_id": reference["quarantine_id"]})
        assert raw is not None
        stored = bson.encode(raw)
        # As written (JSON escapes non-ASCII) and as text, in any form.
        for value in ("Zoë", "Zo\\u00eb", "Súilleabháin", BORN, "born"):
            assert value.encode() not in stored
        assert raw["subject_ids"] == ["case-q1"] and raw["organisation"] == ORG
        assert raw["key"] == "case-q1" and raw["event_type"] == "hearth.ProbeNoted.v1"
        assert raw["sealed"]["kid"] == "test-1"

        # An operator with the key opens it.
        shown = io.StringIO()
        entry = reference["quarantine_id"]
        assert await dead_letters(settings, ["--service", "probe", "show", entry], shown) == 0
        opened = json.loads(shown.getvalue())
        assert opened["value"]["note"] == f"{NAME}, born {BORN}"
        assert opened["headers"]["ce_subject"] == "case-q1"
        listed = io.StringIO()
        assert await dead_letters(settings, ["--service", "probe", "list"], listed) == 0
        assert NAME not in listed.getvalue() and entry in listed.getvalue()
        helper_opened = await open_dead_letter(settings, dead)
        assert json.loads(helper_opened.value or b"")["note"] == f"{NAME}, born {BORN}"

        # After the fix, a replay re-publishes it to the original topic and it is handled.
        probe.fixed = True
        replayed = io.StringIO()
        assert await dead_letters(settings, ["--service", "probe", "replay", entry], replayed) == 0
        assert f"{entry}: replayed to {settings.topic_prefix}case.events" in replayed.getvalue()

        async def handled() -> bool:
            return probe.handled == [f"{NAME}, born {BORN}"]

        await wait_for(handled)

        # Replayed once only, unless --again.
        again = io.StringIO()
        assert await dead_letters(settings, ["--service", "probe", "replay", entry], again) == 1
        assert "already replayed" in again.getvalue()
        assert await dead_letters(settings, ["--service", "probe", "replay", "--all"], again) == 0
        await dlq.settle(1.0)
        assert len(probe.handled) == 1 and len(dlq.records) == 1
        marked = await probe.runtime.db[COLLECTION].find_one({"_id": entry})
        assert marked is not None and marked["replays"] == 1 and marked["replayed_at"]

        # Erasure finds it by the subject's id, within its organisation.
        assert await probe.runtime.quarantine.erase_subjects("leeds-council", ["case-q1"]) == 0
        assert await probe.runtime.quarantine.erase_subjects(ORG, ["case-q1", "other"]) == 1
        assert await probe.runtime.db[COLLECTION].count_documents({}) == 0
    finally:
        await probe.runtime.stop()


async def test_an_undecodable_record_is_kept_by_a_keyed_digest_of_its_key(
    make_settings, topic_reader
) -> None:
    settings = make_settings("probe")
    dlq_topic = dlq_topic_name("probe", settings.topic_prefix)
    await ensure_topics(settings, [dlq_topic])
    probe = Probe(settings)
    await probe.runtime.start()
    try:
        await probe.runtime.broker.publish(
            f"not json: {NAME}".encode(),
            topic=f"{settings.topic_prefix}case.events",
            key=NAME.encode(),
            headers={"ce_id": "x"},
        )
        dlq = await topic_reader(dlq_topic)
        [dead] = await dlq.read_until(lambda r: len(r) >= 1)
        assert NAME.encode() not in dead.value and NAME.encode() != dead.key
        raw = await probe.runtime.db[COLLECTION].find_one({})
        assert raw is not None and NAME.encode() not in bson.encode(raw)
        assert raw["key"] is None and raw["key_digest"].startswith("test-1:")
        assert raw["subject_ids"] == [] and raw["event_type"] is None
        opened = await open_dead_letter(settings, dead)
        assert opened.key == NAME.encode()
    finally:
        await probe.runtime.stop()


async def test_without_a_key_the_service_refuses_to_start(make_settings) -> None:
    runtime = ServiceRuntime(make_settings("probe", quarantine_keys=[]), configure_logs=False)
    try:
        with pytest.raises(QuarantineKeyError, match="HEARTH_QUARANTINE_KEYS: required"):
            await runtime.start()
    finally:
        await runtime.mongo.close()
    short = ServiceRuntime(make_settings("probe", quarantine_keys=["k:short"]), None, False)
    try:
        with pytest.raises(QuarantineKeyError, match=r"HEARTH_QUARANTINE_KEYS\[0\]"):
            await short.start()
    finally:
        await short.mongo.close()


class Record:
    def __init__(self, envelope: Envelope, offset: int) -> None:
        self.key, self.value, headers = to_kafka(envelope)
        self.headers = [(k, v.encode()) for k, v in headers.items()]
        self.topic = "hearth.case.events"
        self.partition = 0
        self.offset = offset
        self.timestamp = 1_700_000_000_000


async def test_an_entry_sealed_under_an_older_key_still_opens_and_retention_purges_it(
    make_settings,
) -> None:
    settings = make_settings("probe")
    client = make_mongo_client(settings)
    collection = client[settings.database_name][COLLECTION]
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    try:
        before = Quarantine(collection, "probe", [OLD_KEY], clock)
        await before.start()
        envelope = noted("case-old")
        held = await before.hold(Record(envelope, 1), "g", PermanentError("note: x"), 1, envelope)
        # The same record held again (its batch re-read) stays one entry.
        assert (await before.hold(Record(envelope, 1), "g", PermanentError("x"), 2)).id == held.id
        assert await collection.count_documents({}) == 1

        rotated = Quarantine(collection, "probe", [NEW_KEY, OLD_KEY], clock)
        await rotated.start()
        assert (await rotated.open(held.id)).value == to_kafka(envelope)[1]
        clock.advance(timedelta(days=1))
        newer = await rotated.hold(Record(envelope, 2), "g", PermanentError("x"), 1, envelope)
        stored = await collection.find_one({"_id": newer.id})
        assert stored is not None and stored["sealed"]["kid"] == "new-2"

        only_new = Quarantine(collection, "probe", [NEW_KEY], clock)
        with pytest.raises(QuarantineKeyError, match="HEARTH_QUARANTINE_KEYS: no key 'old-1'"):
            await only_new.open(held.id)

        assert await rotated.purge_older_than(clock.now() - timedelta(hours=1)) == 1
        assert [d["_id"] for d in await rotated.entries()] == [newer.id]
    finally:
        await client.drop_database(settings.database_name)
        await client.close()


class DownQuarantine(Quarantine):
    async def hold(self, *args: Any, **kwargs: Any) -> HeldRecord:
        raise AutoReconnect("database restarting")


async def test_a_quarantine_that_cannot_be_written_leaves_the_batch_uncommitted(
    make_settings,
) -> None:
    """Nothing is dead-lettered, nothing committed: the batch is handled again later."""
    settings = make_settings("probe")
    runtime = ServiceRuntime(settings, configure_logs=False)
    try:
        consumer = runtime.consumer([Topic.CASE_EVENTS])
        consumer.quarantine = DownQuarantine(runtime.db[COLLECTION], "probe", [NEW_KEY])
        poison = Record(noted("case-down"), 3)
        poison.value = b"\x00 not json"
        with pytest.raises(InfrastructureUnavailable):
            await consumer.handle_records([poison])
    finally:
        await runtime.mongo.close()


def test_only_id_shaped_values_are_kept_in_clear_as_subjects() -> None:
    envelope = noted("case-q9").model_copy(
        update={
            "data": {
                "case_id": "case-q9",
                "person": {"person_id": "p-0a1b2c", "tenancy_id": "derby-homes:DH-1"},
                "referral_id": NAME,  # a name where an id should be: not kept
                "prevention_case_id": BORN,  # a date: not kept
            }
        }
    )
    assert subject_ids(envelope) == ["case-q9", "derby-homes:DH-1", "p-0a1b2c"]
