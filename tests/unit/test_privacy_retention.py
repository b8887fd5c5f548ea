"""The retention schedule: six years by default, per record type, days or years, bounded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from services.privacy.retention import DEFAULT_PERIOD, Period, effective_periods, plan
from shared.events.privacy_events import RecordType

CLOSED = datetime(2026, 2, 28, 14, 30, tzinfo=UTC)


def test_by_default_every_type_is_due_six_years_after_closure_at_once() -> None:
    assert effective_periods({}) == {kind: DEFAULT_PERIOD for kind in RecordType}
    assert plan(CLOSED, {}) == [
        (datetime(2032, 2, 28, 14, 30, tzinfo=UTC), sorted(RecordType)),
    ]


def test_types_with_their_own_period_fall_due_apart() -> None:
    periods = {RecordType.CONTACT_DETAILS: Period(days=0), RecordType.CASEWORK: Period(years=7)}
    due = plan(CLOSED, periods)
    assert due[0] == (CLOSED, [RecordType.CONTACT_DETAILS])
    assert due[1] == (
        datetime(2032, 2, 28, 14, 30, tzinfo=UTC),
        [RecordType.DELIVERIES, RecordType.QUARANTINE],
    )
    assert due[2] == (datetime(2033, 2, 28, 14, 30, tzinfo=UTC), [RecordType.CASEWORK])


def test_a_year_is_a_calendar_year() -> None:
    leap = datetime(2028, 2, 29, tzinfo=UTC)
    assert Period(years=1).after(leap) == datetime(2029, 2, 28, tzinfo=UTC)
    assert Period(days=30).after(leap) == datetime(2028, 3, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [{}, {"days": 1, "years": 1}, {"days": -1}, {"years": 101}, {"days": 40_000},
     {"years": True}, {"days": "5"}, {"years": 1.5}],
)  # fmt: skip
def test_a_period_is_exactly_one_sane_whole_number(value: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Period.model_validate(value)
