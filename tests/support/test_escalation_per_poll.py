"""A poll of TenancyAtRisk escalates its cases with as many database commands as a poll of two,
in order (a case alerted twice in one poll escalates twice, as it would one event at a time),
and the same poll again changes nothing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from services.support.app import create_app
from shared.clock import ManualClock
from shared.codes import RiskLevel
from shared.events.catalogue import TenancyAtRisk
from shared.events.envelope import Envelope, make_event
from shared.kafka import ensure_topics
from shared.topics import Topic, topic_name
from tests.database_commands import database_commands
from tests.support.helpers import allocated, count_of, events_of

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at_risk(n: int, level: RiskLevel) -> Envelope:
    return make_event(
        TenancyAtRisk(
            tenancy_id=f"derby-homes:T-{n}",
            landlord="derby-homes",
            alert_id=f"alert-{n}-{level}",
            risk_level=level,
            reasons=["weeks_in_arrears>=6"],
            arrears_balance=1450.0,
            weekly_rent=95.0,
        ),
        source="referral",
        organisation="derby-homes",
    )


def commands(service: str) -> int:
    counts = database_commands(service)
    return counts["cases"] + counts["organisation_settings"]


async def test_a_poll_of_alerts_escalates_in_a_constant_number_of_commands(
    make_settings, topic_reader
) -> None:
    settings = make_settings("support")
    await ensure_topics(settings)
    app = create_app(settings, ManualClock(START), manage_runtime=False)
    runtime, casework = app.state.runtime, app.state.casework
    await runtime.start(background_loops=False)  # no sweeps or timers among the counts
    try:
        opened = [allocated(f"case-{n}", START, tenancy_id=f"derby-homes:T-{n}") for n in range(7)]
        await casework.opening.open_many([(e, e.payload()) for e in opened])
        reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))
        escalate = casework.escalations.tenancies_at_risk

        async def cost(poll: list[Envelope]) -> int:
            before = commands(settings.service_name)
            await escalate([(e, e.payload()) for e in poll])
            return commands(settings.service_name) - before

        two = await cost([at_risk(0, RiskLevel.HIGH), at_risk(1, RiskLevel.HIGH)])
        six = [at_risk(n, RiskLevel.HIGH) for n in range(2, 6)]
        six += [at_risk(6, RiskLevel.HIGH), at_risk(6, RiskLevel.CRITICAL)]
        assert await cost(six) == two

        await reader.read_until(count_of("CaseEscalated", 8))
        escalated = {e.id: e for e in events_of(reader.records, "CaseEscalated")}.values()
        per_case = Counter(e.subject for e in escalated)
        assert per_case == {f"case-{n}": 1 for n in range(6)} | {"case-6": 2}
        twice = await casework.store.case("case-6")
        assert twice is not None and twice.escalation is not None
        assert [e.risk_level for e in twice.escalations] == [RiskLevel.HIGH, RiskLevel.CRITICAL]
        assert twice.escalation.risk_level is RiskLevel.CRITICAL
        assert twice.contact_frequency_per_week == 7.0

        # The same poll again (a redelivery): no escalation, no event.
        await escalate([(e, e.payload()) for e in six])
        await reader.settle(1.0)
        assert len({e.id for e in events_of(reader.records, "CaseEscalated")}) == 8
        again = await casework.store.case("case-6")
        assert again is not None and len(again.escalations) == 2
    finally:
        await runtime.stop()
