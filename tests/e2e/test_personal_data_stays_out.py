"""Personal data stays where it belongs (issue 15, item 6): a full run of the demo's referrals,
with people whose names are not ASCII, NI numbers, dates of birth, phones and emails, plus
poison input (a date of birth that does not exist, a referral id taken by another
organisation, an event type made up by the sender). Then every line every service logged and
every dead letter's headers and value are searched for those values: a dead letter is only a
reference to the record, sealed in the failing service's quarantine (issue 16), where an
operator holding the key still finds it whole. Metric labels are checked too: a sender cannot
mint one."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from devstack import demo_data
from devstack.platform import DEMO_QUARANTINE_KEY, Platform
from shared.events.base import event_type_name
from shared.events.envelope import Envelope
from shared.events.referral_intake import ReferralSubmitted
from shared.ids import new_id
from shared.kafka import EventPublisher, ensure_topics, make_broker, settings_security
from shared.settings import HearthSettings
from shared.topics import Topic, topic_name
from tests.e2e.conftest import Api
from tests.e2e.streams import eventually, publish
from tests.helpers import open_dead_letter

pytestmark = pytest.mark.integration

COUNCIL = demo_data.COUNCIL_KEY
OTHER = demo_data.OTHER_COUNCIL_KEY
RUN = uuid.uuid4().hex[:6]


@dataclass(frozen=True)
class Someone:
    given: str
    family: str
    born: str
    ni: str
    mobile: str
    email: str

    def body(self, **extra: Any) -> dict[str, Any]:
        body = demo_data.referral(
            self.given, self.family, self.born, ["budgeting_debt"], email=self.email, **extra
        )
        body["person"]["ni_number"] = self.ni
        body["contact"]["mobile"] = self.mobile
        return body

    def values(self) -> list[str]:
        return [self.given, self.family, self.born, self.ni, self.mobile, self.email]


ZOE = Someone(
    "Zoë", "Ó Súilleabháin", "1979-11-23", "QQ 12 34 56 C", "07700 900456", "zoe@mail.demo"
)
JOSE = Someone("José", "王", "1990-02-14", "QQ 65 43 21 A", "07700900789", "jose.wang@mail.demo")
AMARA = Someone("Amara", "Okonkwo", "2001-06-09", "QQ 11 22 33 B", "07700900321", "amara@mail.demo")
IMPOSSIBLE_BIRTH = "1979-02-30"
MINTED_TYPE = f"hearth.Zoë Ó Súilleabháin {RUN}.v1"  # a sender's own "event type"
RAW_PATH_NAME = f"Zoë-Ó-Súilleabháin-{RUN}"


def demo_values() -> list[str]:
    """The demo's own people: names, dates of birth, phones and emails."""
    found: list[str] = []
    for bodies in demo_data.REFERRALS.values():
        for body in bodies:
            person, contact = body["person"], body["contact"]
            found += [person["given_name"], person["family_name"], person["date_of_birth"]]
            found += [contact["mobile"], *(v for v in [contact.get("email")] if v)]
    for workers in demo_data.CASEWORKERS.values():
        found += [w["email"] for w in workers]
    return sorted(set(found))


def submitted(referral_id: str, organisation: str, body: dict[str, Any]) -> Envelope:
    """A ReferralSubmitted as a partner with broker access writes it: built by hand, so its
    data can be what the model would refuse."""
    event_id = new_id()
    return Envelope(
        id=event_id,
        source=f"urn:hearth:partner:{organisation}",
        type=event_type_name(ReferralSubmitted),
        time=datetime.now(UTC),
        subject=referral_id,
        organisation=organisation,
        correlationid=event_id,
        partitionkey=referral_id,
        data={"referral_id": referral_id, "submission": body},
    )


@dataclass
class DeadLetter:
    topic: str
    headers: dict[str, str]
    value: str
    record: Any = None  # as read, to follow its reference into the quarantine


@dataclass
class Run:
    values: list[str]
    dead: list[DeadLetter] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)
    invalid_answer: httpx.Response | None = None
    metrics: dict[str, str] = field(default_factory=dict)
    quarantined: dict[str, bytes] = field(default_factory=dict)  # subject -> original value


async def dead_letters(settings: HearthSettings) -> list[DeadLetter]:
    """Every record of every dead-letter topic of this platform, from the beginning."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka,
        **settings_security(settings),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        # The admin client asks the broker; the consumer's topic cache may not be filled yet.
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka, **settings_security(settings))
        await admin.start()
        try:
            every = await admin.list_topics()
            names = [t for t in every if t.startswith(f"{settings.topic_prefix}dlq.")]
            described = await admin.describe_topics(names) if names else []
        finally:
            await admin.close()
        partitions = [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            for partition in topic["partitions"]
        ]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[DeadLetter] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    headers = {k: v.decode(errors="replace") for k, v in record.headers}
                    value = (record.value or b"").decode(errors="replace")
                    found.append(DeadLetter(record.topic, headers, value, record))
        return found
    finally:
        await consumer.stop()


async def referral_dead_letters(settings: HearthSettings, at_least: int) -> list[DeadLetter]:
    deadline = time.monotonic() + 90
    while True:
        found = await dead_letters(settings)
        mine = [d for d in found if RUN in d.headers.get("ce_subject", "")]
        if len(mine) >= at_least or time.monotonic() > deadline:
            return found
        await asyncio.sleep(1)


def whole_words(value: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(value)}(?!\w)")


def leaks(text: str, values: list[str]) -> list[str]:
    return [v for v in values if whole_words(v).search(text)]


@pytest.fixture(scope="module")
def run(module_platform: Platform, module_settings: HearthSettings) -> Run:
    council = Api(module_platform, COUNCIL)
    for team in demo_data.TEAMS[COUNCIL]:
        assert council.post("allocation", "/teams", team).status_code == 201
    for worker in demo_data.CASEWORKERS[COUNCIL]:
        assert council.post("allocation", "/caseworkers", worker).status_code == 201

    # Over HTTP: the demo's referrals, and people the demo lacks (scripts, NI numbers).
    accepted = []
    for body in [*copy.deepcopy(demo_data.REFERRALS[COUNCIL]), ZOE.body(), AMARA.body()]:
        answer = council.post("referral", "/referrals", body)
        assert answer.status_code == 201, answer.text
        accepted.append(answer.json()["id"])
    bad = ZOE.body()
    bad["person"]["date_of_birth"] = IMPOSSIBLE_BIRTH
    invalid = council.post("referral", "/referrals", bad)

    # Over Kafka: a good one, one born on a day that never was, one whose id another
    # organisation took first, and one of a type the sender made up.
    taken = f"pd-{RUN}-taken"
    born_never = ZOE.body()
    born_never["person"]["date_of_birth"] = IMPOSSIBLE_BIRTH
    minted = submitted(f"pd-{RUN}-minted", COUNCIL, JOSE.body())
    minted = minted.model_copy(update={"type": MINTED_TYPE})
    asyncio.run(
        publish(
            module_settings,
            [
                submitted(f"pd-{RUN}-good", COUNCIL, AMARA.body()),
                submitted(f"pd-{RUN}-never", COUNCIL, born_never),
                submitted(taken, COUNCIL, JOSE.body()),
            ],
        )
    )
    asyncio.run(
        eventually(
            lambda: council.get("referral", f"/referrals/{taken}").status_code == 200,
            what="the first claim of the id",
        )
    )
    asyncio.run(publish(module_settings, [submitted(taken, OTHER, JOSE.body())]))
    asyncio.run(_publish_to(module_settings, minted, Topic.REFERRAL_INTAKE))

    # A route that does not exist, and a refused call on one that does, both naming a person.
    council.get("referral", f"/people/{RAW_PATH_NAME}")
    httpx.get(
        f"{module_platform.services['referral'].url}/v1/referrals/{RAW_PATH_NAME}",
        headers={"Authorization": "Bearer not-a-token"},
        timeout=10,
    )

    dead = asyncio.run(referral_dead_letters(module_settings, at_least=2))
    # Downstream has had its turn: every accepted referral allocated or waiting.
    asyncio.run(
        eventually(
            lambda: all(
                council.get("referral", f"/referrals/{rid}").json().get("status")
                in ("allocated", "assessed", "closed")
                for rid in accepted
            ),
            timeout=90,
            what="the referrals to be assessed or allocated",
        )
    )
    time.sleep(2)  # the last log lines of notifications and allocation
    quarantined = asyncio.run(opened_values(module_settings, module_platform, dead))
    values = sorted(
        {*demo_values(), *ZOE.values(), *JOSE.values(), *AMARA.values(), IMPOSSIBLE_BIRTH}
    )
    return Run(
        values=values,
        dead=dead,
        logs={
            path.name: path.read_text(errors="replace")
            for path in sorted(module_platform.log_dir.glob("*.log"))
        },
        invalid_answer=invalid,
        quarantined=quarantined,
        metrics={
            name: httpx.get(process.metrics_url, timeout=10).text
            for name, process in module_platform.services.items()
        },
    )


async def opened_values(
    settings: HearthSettings, platform: Platform, dead: list[DeadLetter]
) -> dict[str, bytes]:
    """This run's dead letters' original values, opened from the referral service's quarantine
    with the platform's key, by subject."""
    found: dict[str, bytes] = {}
    for letter in dead:
        subject = letter.headers.get("ce_subject", "")
        if RUN in subject and letter.topic.endswith(".referral"):
            opened = await open_dead_letter(
                settings,
                letter.record,
                database=f"{platform.database_prefix}_referral",
                keys=json.loads(platform.env.get("HEARTH_QUARANTINE_KEYS", "[]"))
                or [DEMO_QUARANTINE_KEY],
            )
            found[subject] = opened.value or b""
    return found


async def _publish_to(settings: HearthSettings, envelope: Envelope, topic: Topic) -> None:
    await ensure_topics(settings)
    broker = make_broker(settings)
    await broker.connect()
    try:
        await EventPublisher(broker, settings).publish(
            envelope, topic_name(topic, settings.topic_prefix)
        )
    finally:
        await broker.stop()


def test_no_service_logs_a_personal_value(run: Run) -> None:
    assert run.logs and all(run.logs.values()), "every service wrote its log"
    found = {name: leaks(text, run.values) for name, text in run.logs.items()}
    assert not any(found.values()), found
    # The failures did reach the logs, by field and reason.
    referral_log = run.logs["referral.log"]
    assert "consumer.dead_lettered" in referral_log
    assert "date_of_birth" in referral_log


def test_dead_letters_name_no_one_and_their_records_wait_sealed_in_quarantine(run: Run) -> None:
    mine = [d for d in run.dead if RUN in d.headers.get("ce_subject", "")]
    reasons = {d.headers["ce_subject"]: d.headers["hearth_dlq_reason"] for d in mine}
    assert "date_of_birth" in reasons[f"pd-{RUN}-never"], reasons
    assert reasons[f"pd-{RUN}-taken"].startswith("referral_id:"), reasons
    assert IMPOSSIBLE_BIRTH.encode() in run.quarantined[f"pd-{RUN}-never"]
    for letter in run.dead:
        found = leaks(" ".join(f"{k}={v}" for k, v in letter.headers.items()), run.values)
        assert not found, (letter.topic, found, letter.headers)
        assert not leaks(letter.value, run.values), (letter.topic, letter.value)
        assert json.loads(letter.value)["quarantine_id"]


def test_a_refused_body_names_the_field_not_the_value(run: Run) -> None:
    answer = run.invalid_answer
    assert answer is not None and answer.status_code == 422, answer
    assert "person.date_of_birth" in answer.text
    assert IMPOSSIBLE_BIRTH not in answer.text and ZOE.given not in answer.text


def test_a_sender_cannot_mint_a_metric_label(run: Run) -> None:
    metrics = "\n".join(run.metrics.values())
    assert 'type="unknown"' in run.metrics["referral"]  # the made-up type, counted as unknown
    for minted in (MINTED_TYPE, "Zoë", RAW_PATH_NAME, "Súilleabháin"):
        assert minted not in metrics
    # The refused call is logged with the route's template, never the path it was sent to.
    refused = [line for line in run.logs["referral.log"].splitlines() if "http.refused" in line]
    assert any('"path": "/referrals/{referral_id}"' in line for line in refused), refused
