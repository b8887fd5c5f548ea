"""Outcomes consumes the platform's own event types only: a type registered elsewhere (a test's
probe) never joins its subscriptions or its published contract."""

from __future__ import annotations

from typing import ClassVar

from services.outcomes.subscriptions import consumed_models
from shared.events.base import EventData
from shared.topics import Topic


class OutsideProbe(EventData):
    TYPE: ClassVar[str] = "OutsideProbeForOutcomes"
    TOPIC: ClassVar[str] = Topic.CASE_EVENTS

    case_id: str


def test_a_type_registered_outside_the_catalogue_is_not_consumed() -> None:
    types = {m.TYPE for m in consumed_models()}
    assert "OutsideProbeForOutcomes" not in types
    assert {"CaseClosed", "TenancyEnded", "ReferralReceived"} <= types
