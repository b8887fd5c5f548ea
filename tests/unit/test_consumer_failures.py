"""The consumer's failure policy, decided without a broker: which errors are waited out, that a
batch given up on stops all its lanes, that a failed commit makes the batch run again, and that
metric labels come only from the event catalogue."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, NotLeaderForPartitionError, UnknownError
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    DuplicateKeyError,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from shared.consumer import CommitFailed, EventConsumer, InfrastructureUnavailable, metric_type
from shared.events.catalogue import ReviewDue
from shared.events.envelope import Envelope, make_event, to_kafka
from shared.kafka import make_broker
from shared.settings import HearthSettings
from shared.topics import Topic
from shared.transient import is_transient


@pytest.mark.parametrize(
    "error",
    [
        AutoReconnect("connection reset"),
        ServerSelectionTimeoutError("no servers"),
        OperationFailure("database is locked", code=1),
        OperationFailure("shutting down", code=91),
        BulkWriteError({"writeErrors": [{"code": 91, "index": 0}]}),
        KafkaConnectionError(),
        NotLeaderForPartitionError(),
        ConnectionRefusedError(),
        RuntimeError("wrapped").with_traceback(None),
    ],
)
def test_infrastructure_errors_are_transient(error: BaseException) -> None:
    if isinstance(error, RuntimeError):
        error.__cause__ = AutoReconnect("under a handler's own error")
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        DuplicateKeyError("E11000"),
        OperationFailure("unknown operator $foo", code=2),
        BulkWriteError({"writeErrors": [{"code": 11000, "index": 0}]}),
        UnknownError(),
        ValueError("bad field"),
        KeyError("nModified"),
    ],
)
def test_errors_of_the_event_or_the_code_are_not(error: BaseException) -> None:
    assert not is_transient(error)


def settings() -> HearthSettings:
    return HearthSettings(service_name="probe", kafka="127.0.0.1:1", retry_backoff_seconds=0.001)


@dataclass
class Record:
    key: bytes
    value: bytes
    headers: dict[str, str]
    topic: str = "hearth.case.events"
    partition: int = 0
    offset: int = 0


def record_of(envelope: Envelope, offset: int) -> Record:
    key, value, headers = to_kafka(envelope)
    return Record(key, value, headers, offset=offset)


def review_due(case_id: str) -> Envelope:
    return make_event(
        ReviewDue(
            case_id=case_id,
            review_id=f"r-{case_id}",
            review_point="stage_1_week_12",
            due_on=date(2026, 12, 1),
            notice="due",
        ),
        source="tests",
        organisation="derby-council",
    )


async def test_a_lane_that_meets_the_database_down_stops_every_other_lane() -> None:
    """Before, the other lanes ran on beside the batch's re-read, out of order per key."""
    consumer = EventConsumer(settings(), make_broker(settings()), [Topic.CASE_EVENTS])
    handled: list[str] = []

    @consumer.on(ReviewDue)
    async def handle(envelope: Envelope, data: ReviewDue) -> None:
        if data.case_id == "down":
            raise AutoReconnect("database restarting")
        await asyncio.sleep(0.05)
        handled.append(envelope.id)

    slow = [review_due("slow") for _ in range(5)]
    records = [record_of(review_due("down"), 0)] + [record_of(e, i + 1) for i, e in enumerate(slow)]
    with pytest.raises(InfrastructureUnavailable):
        await consumer.handle_records(records)
    after_the_give_up = len(handled)
    await asyncio.sleep(0.3)
    assert len(handled) == after_the_give_up < len(slow)


@dataclass
class FailingCommits:
    commits: int = 0
    assigned: set[Any] = field(default_factory=set)

    async def commit(self) -> None:
        self.commits += 1
        raise KafkaConnectionError("coordinator gone")


@dataclass
class Message:
    consumer: FailingCommits
    committed: Any = None


async def test_a_failed_commit_is_raised_so_the_batch_is_read_again() -> None:
    consumer = EventConsumer(settings(), make_broker(settings()), [Topic.CASE_EVENTS])
    message = Message(FailingCommits())
    with pytest.raises(CommitFailed):
        await consumer._commit(message, (record_of(review_due("a"), 0),))
    assert message.consumer.commits == 1
    assert message.committed is None  # left for FastStream's nack, which seeks back


def test_metric_labels_come_only_from_the_catalogue() -> None:
    known = review_due("a")
    assert metric_type(known) == "ReviewDue"
    minted = known.model_copy(update={"type": "uk.gov.hearth.Anything-1234"})
    assert metric_type(minted) == "unknown"
