"""Imported history in `HistoryImported` records and back (services/outcomes/history_batches.py):
one organisation per record, at most 500 events and well under the broker's 1 MB limit, the
same batch ids when the same history is imported again, and a bad record refused naming the
field."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.outcomes.history_batches import HistoryError, batches, unwrap
from services.outcomes.history_generator import OrganisationPlan, generate
from services.outcomes.subscriptions import consumed_models
from shared.events.base import event_type_name
from shared.events.envelope import Envelope, from_kafka, make_event, to_kafka
from shared.events.history_events import HistoryImported
from shared.topics import Topic

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MODELS = {event_type_name(m): m for m in consumed_models()}


@pytest.fixture(scope="module")
def history() -> list[Envelope]:
    plans = [OrganisationPlan("demo-council", landlord="demo-homes"), OrganisationPlan("leeds")]
    return generate(plans, end=date(2026, 12, 1), months=3, seed=7)


def through_kafka(envelope: Envelope) -> Envelope:
    key, value, headers = to_kafka(envelope)
    return from_kafka(key, value, [(k, v.encode()) for k, v in headers.items()])


def test_records_hold_one_organisations_events_within_the_limits(
    history: list[Envelope],
) -> None:
    records = batches(history, "s7", AT)
    assert len(records) > 3
    for record in records:
        data = record.payload()
        assert isinstance(data, HistoryImported)
        assert HistoryImported.TOPIC == Topic.OUTCOMES_HISTORY
        assert 0 < len(data.events) <= 500
        assert len(to_kafka(record)[1]) < 800_000  # the broker takes up to 1 MB
        assert {e["organisation"] for e in data.events} == {record.organisation}
        assert record.subject == data.batch_id


def test_unwrapping_gives_back_every_event_as_it_was(history: list[Envelope]) -> None:
    unwrapped = []
    for record in batches(history, "s7", AT):
        arrived = through_kafka(record)
        unwrapped += unwrap(arrived, HistoryImported.model_validate(arrived.data), MODELS)
    assert sorted(e.id for e, _ in unwrapped) == sorted(e.id for e in history)
    originals = {e.id: e for e in history}
    for envelope, data in unwrapped:
        assert envelope == originals[envelope.id]
        assert data == originals[envelope.id].payload()


def test_the_same_history_makes_the_same_records(history: list[Envelope]) -> None:
    first = [(r.id, r.subject) for r in batches(history, "s7", AT)]
    later = [(r.id, r.subject) for r in batches(history, "s7", datetime.now(UTC))]
    assert first == later
    assert {r.id for r in batches(history, "s8", AT)}.isdisjoint(r for r, _ in first)


def test_a_record_with_another_organisations_event_is_refused(history: list[Envelope]) -> None:
    record = batches(history, "s7", AT)[0]
    data = HistoryImported.model_validate(record.data)
    data.events[3] = {**data.events[3], "organisation": "someone-else"}
    with pytest.raises(HistoryError, match=r"^events\.3\.organisation: 'someone-else'"):
        unwrap(record, data, MODELS)


def test_a_record_with_an_event_outcomes_does_not_keep_is_refused() -> None:
    """A history record inside a history record, for one: only the events outcomes keeps."""
    nested = make_event(
        HistoryImported(batch_id="inner", events=[]), source="test", organisation="demo-council"
    )
    record = batches([nested], "s7", AT)[0]
    with pytest.raises(HistoryError, match=r"^events\.0\.type: "):
        unwrap(record, HistoryImported.model_validate(record.data), MODELS)


def test_a_record_with_an_invalid_event_is_refused(history: list[Envelope]) -> None:
    record = batches(history, "s7", AT)[0]
    data = HistoryImported.model_validate(record.data)
    data.events[0] = {**data.events[0], "data": {}}
    with pytest.raises(HistoryError, match=r"^events\.0\.data\.\w+: Field required"):
        unwrap(record, data, MODELS)
    data.events[0] = {"id": "x"}
    with pytest.raises(HistoryError, match=r"^events\.0\.\w+: Field required"):
        unwrap(record, data, MODELS)


def test_more_than_500_events_in_a_record_is_refused_by_the_model() -> None:
    with pytest.raises(ValueError, match="events"):
        HistoryImported(batch_id="b", events=[{}] * 501)
