"""The CloudEvents envelope and its Kafka binary-mode codec, without a broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cloudevents.v1.kafka import KafkaMessage, from_binary

from shared.codes import Route
from shared.events.catalogue import CaseAllocated, ReviewDue
from shared.events.envelope import EnvelopeError, follow_on, from_kafka, make_event, to_kafka


def allocated() -> CaseAllocated:
    return CaseAllocated(
        case_id="case-1",
        person_id="person-1",
        route=Route.SUPPORT,
        lead_worker_id="w-1",
        team_id="team-1",
        team_leader_id="tl-1",
        target_hours_per_week=2,
        allocated_at=datetime(2026, 3, 1, tzinfo=UTC),
    )


def test_binary_mode_headers_and_key() -> None:
    env = make_event(allocated(), source="hearth/allocation", organisation="derby-homes")
    key, value, headers = to_kafka(env)
    assert key == b"case-1"
    assert headers["ce_type"] == "hearth.CaseAllocated.v1"
    assert headers["ce_subject"] == "case-1"
    assert headers["ce_organisation"] == "derby-homes"
    assert headers["ce_correlationid"] == env.id
    assert headers["content-type"] == "application/json"
    assert json.loads(value)["lead_worker_id"] == "w-1"
    assert all(name == name.lower() for name in headers)


def test_round_trip_gives_the_same_envelope_and_typed_data() -> None:
    env = make_event(allocated(), source="hearth/allocation", organisation="derby-homes")
    key, value, headers = to_kafka(env)
    back = from_kafka(key, value, [(k, v.encode()) for k, v in headers.items()])
    assert back == env
    assert back.payload() == allocated()


def test_official_sdk_reads_what_hearth_writes() -> None:
    env = make_event(allocated(), source="hearth/allocation", organisation="derby-homes")
    key, value, headers = to_kafka(env)
    event = from_binary(KafkaMessage({k: v.encode() for k, v in headers.items()}, key, value))
    assert event["id"] == env.id
    assert event["type"] == "hearth.CaseAllocated.v1"
    assert event["specversion"] == "1.0"
    assert event["organisation"] == "derby-homes"
    assert event.data["case_id"] == "case-1"


def test_follow_on_event_ids_are_stable_and_carry_the_correlation() -> None:
    parent = make_event(allocated(), source="hearth/allocation", organisation="derby-homes")
    review = ReviewDue(
        case_id="case-1",
        review_id="r1",
        review_point="stage_1_week_12",
        due_on=datetime(2026, 5, 24).date(),
        notice="due",
    )
    first = follow_on(parent, review, source="hearth/support", discriminator="r1")
    again = follow_on(parent, review, source="hearth/support", discriminator="r1")
    assert first.id == again.id
    assert first.correlationid == parent.correlationid
    assert first.causationid == parent.id


@pytest.mark.parametrize(
    ("headers", "value", "field"),
    [
        ({"ce_id": "1"}, b"{}", "ce_specversion"),
        (
            {
                "ce_specversion": "1.0",
                "ce_id": "1",
                "ce_source": "s",
                "ce_type": "t",
                "ce_time": "2026-01-01T00:00:00Z",
                "ce_subject": "c",
            },
            b"{}",
            "ce_organisation",
        ),
        (
            {
                "ce_specversion": "1.0",
                "ce_id": "1",
                "ce_source": "s",
                "ce_type": "t",
                "ce_time": "yesterday",
                "ce_subject": "c",
                "ce_organisation": "o",
            },
            b"{}",
            "ce_time",
        ),
        (
            {
                "ce_specversion": "1.0",
                "ce_id": "1",
                "ce_source": "s",
                "ce_type": "t",
                "ce_time": "2026-01-01T00:00:00Z",
                "ce_subject": "c",
                "ce_organisation": "o",
            },
            b"not json",
            "data",
        ),
    ],
)
def test_bad_records_name_the_field(headers: dict[str, str], value: bytes, field: str) -> None:
    with pytest.raises(EnvelopeError, match=field):
        from_kafka(b"k", value, [(k, v.encode()) for k, v in headers.items()])


def test_bad_data_names_the_data_field() -> None:
    env = make_event(allocated(), source="s", organisation="o")
    broken = env.model_copy(update={"data": {**env.data, "target_hours_per_week": "lots"}})
    with pytest.raises(EnvelopeError, match=r"data\.target_hours_per_week"):
        broken.payload()
