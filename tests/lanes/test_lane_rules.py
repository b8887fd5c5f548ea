"""The lane rules, decided without a broker: how a lane is written and read, refused when
unknown, inherited by what an event causes, and which consumer group a record belongs to."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from datetime import date

import pytest

from shared.broker_access import SERVICE_ACCESS, AccessTable, ingress_topic, service_principal
from shared.consumer import EventConsumer
from shared.events.catalogue import ReviewDue
from shared.events.envelope import (
    Envelope,
    EnvelopeError,
    follow_on,
    from_kafka,
    make_event,
    to_kafka,
)
from shared.kafka import make_broker
from shared.lanes import Lane, current_lane, working_in
from shared.settings import HearthSettings
from shared.topics import LANED, Topic, topic_name


def review_due(case_id: str, lane: Lane | None = None) -> Envelope:
    data = ReviewDue(
        case_id=case_id,
        review_id=f"r-{case_id}",
        review_point="stage_1_week_12",
        due_on=date(2026, 12, 1),
        notice="due",
    )
    return make_event(data, source="tests", organisation="derby-council", lane=lane)


def settings() -> HearthSettings:
    return HearthSettings(
        service_name="probe", kafka="127.0.0.1:1", partner_organisations=["derby-homes"]
    )


@dataclass
class Record:
    topic: str
    headers: list[tuple[str, bytes]]


def as_headers(envelope: Envelope) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in to_kafka(envelope)[2].items()]


# --- refusals ------------------------------------------------------------------------------


def test_an_unknown_lane_is_refused_naming_the_field() -> None:
    key, value, headers = to_kafka(review_due("c1"))
    headers["ce_lane"] = "express"
    with pytest.raises(EnvelopeError, match=r"^ce_lane: unknown lane 'express'"):
        from_kafka(key, value, headers)
    headers["ce_lane"] = ""
    with pytest.raises(EnvelopeError, match=r"^ce_lane: unknown lane ''"):
        from_kafka(key, value, headers)


def test_a_partners_ingress_record_is_interactive_whatever_its_header_says() -> None:
    consumer = EventConsumer(settings(), make_broker(settings()), [Topic.REFERRAL_INTAKE])
    topic = ingress_topic(Topic.REFERRAL_INTAKE, "derby-homes", "hearth.")
    assert consumer.lane_of(Record(topic, as_headers(review_due("c1", Lane.BULK)))) is (
        Lane.INTERACTIVE
    )


def test_a_purge_waits_for_every_lane_of_a_purged_topic() -> None:
    """A purge deletes what a consumer's groups have all committed past
    (`EventConsumer.purge_consumed`): on a laned topic that is both lanes' groups, so a bulk
    group behind the interactive one loses nothing (tests/lanes/test_purge_with_lanes.py)."""
    purged = {topic for access in SERVICE_ACCESS.values() for topic in access.purges}
    for topic in purged & LANED:
        consumer = EventConsumer(settings(), make_broker(settings()), [topic], "referral")
        assert consumer.group_ids == [consumer.group_id, f"{consumer.group_id}.bulk"]


# --- the lane travels ----------------------------------------------------------------------


def test_the_interactive_lane_is_the_default_and_writes_no_header() -> None:
    event = review_due("c1")
    assert event.lane is Lane.INTERACTIVE
    assert "ce_lane" not in to_kafka(event)[2]
    assert from_kafka(*to_kafka(event)).lane is Lane.INTERACTIVE


def test_the_bulk_lane_travels_in_its_header() -> None:
    event = review_due("c1", Lane.BULK)
    assert to_kafka(event)[2]["ce_lane"] == "bulk"
    assert from_kafka(*to_kafka(event)) == event


def test_what_an_event_causes_travels_its_lane() -> None:
    parent = review_due("c1", Lane.BULK)
    assert follow_on(parent, ReviewDue.model_validate(parent.data), source="t").lane is Lane.BULK
    with working_in(Lane.BULK):
        assert current_lane() is Lane.BULK
        assert review_due("c2").lane is Lane.BULK  # made while a bulk event is handled
        assert review_due("c3", Lane.INTERACTIVE).lane is Lane.INTERACTIVE
    assert review_due("c4").lane is Lane.INTERACTIVE


def test_each_record_belongs_to_one_group() -> None:
    consumer = EventConsumer(
        settings(), make_broker(settings()), [Topic.CASE_EVENTS, Topic.AGREEMENTS]
    )
    assert consumer.group_ids == ["hearth.probe", "hearth.probe.bulk"]
    case_events = topic_name(Topic.CASE_EVENTS, "hearth.")
    bulk = as_headers(review_due("c1", Lane.BULK))
    assert consumer.lane_of(Record(case_events, bulk)) is Lane.BULK
    assert consumer.lane_of(Record(case_events, as_headers(review_due("c2")))) is (Lane.INTERACTIVE)
    # An unreadable lane goes to the interactive group, whose decode refuses it.
    assert consumer.lane_of(Record(case_events, [("ce_lane", b"express")])) is Lane.INTERACTIVE
    # A topic with no bulk lane: its one group handles every lane.
    agreements = topic_name(Topic.AGREEMENTS, "hearth.")
    assert consumer.lane_of(Record(agreements, bulk)) is Lane.INTERACTIVE


def test_a_consumer_of_unlaned_topics_runs_one_group() -> None:
    consumer = EventConsumer(settings(), make_broker(settings()), [Topic.AGREEMENTS])
    assert consumer.lanes == (Lane.INTERACTIVE,)
    assert consumer.group_ids == ["hearth.probe"]


def test_every_lanes_group_is_one_its_service_may_join() -> None:
    """The broker lets a service join only groups named after it (`shared.broker_access`):
    the bulk lane's group is one of them, for every consumer of every service."""
    table = AccessTable(prefix="hearth.")
    for service in SERVICE_ACCESS:
        if importlib.util.find_spec(f"services.{service}") is None:
            continue
        runtime = importlib.import_module(f"services.{service}.app").build_runtime(
            HearthSettings(service_name=service, partner_organisations=[])
        )
        allowed = [
            g.name
            for g in table.grants()
            if g.resource == "group" and g.principal == service_principal(service)
        ]
        for consumer in runtime.consumers:
            for group in consumer.group_ids:
                assert any(group.startswith(name) for name in allowed), (service, group)
