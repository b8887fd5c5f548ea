"""A case keeps the lane its referral came by, so its CaseAllocated travels that lane whichever
pass places it (a person's case is never queued behind a feed's, nor a feed's ahead of it)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.allocation.handlers import waiting_entry
from services.allocation.records import CaseEntry
from shared.codes import Route
from shared.events.catalogue import ReferralAssessed
from shared.events.envelope import make_event
from shared.events.referral_events import Referrer
from shared.lanes import Lane

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _assessed(lane: Lane | None) -> tuple:
    data = ReferralAssessed(
        case_id="case-1",
        person_id="p-1",
        route=Route.SUPPORT,
        reasons=[],
        referrer=Referrer(organisation="derby-homes", source="landlord"),
        received_at=AT,
    )
    return make_event(data, source="urn:test", organisation="derby", lane=lane), data


def test_a_case_from_the_bulk_lane_is_a_bulk_case() -> None:
    envelope, data = _assessed(Lane.BULK)
    assert waiting_entry(envelope, data, AT).lane is Lane.BULK


def test_a_case_from_a_person_is_interactive() -> None:
    envelope, data = _assessed(None)
    assert waiting_entry(envelope, data, AT).lane is Lane.INTERACTIVE


def test_an_entry_stored_before_lanes_is_interactive() -> None:
    envelope, data = _assessed(Lane.BULK)
    stored = waiting_entry(envelope, data, AT).model_dump(by_alias=True, exclude={"lane"})
    assert CaseEntry.model_validate(stored).lane is Lane.INTERACTIVE
