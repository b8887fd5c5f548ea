"""The scenario clock on the real broker: every service of a non-production platform follows
the one clock the platform.clock topic sets (issue 20: "a trained-staff or test deployment
needs a way to run a scenario on a chosen date")."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devstack.broker_acls import apply_acls
from devstack.provision import Infrastructure
from shared.broker_access import service_principal
from shared.runtime import ServiceRuntime
from shared.scenario_clock import ScenarioClock, ScenarioClockRefused, set_scenario_clock
from shared.settings import HearthSettings
from tests.helpers import wait_for as eventually

pytestmark = pytest.mark.integration

JUNE = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def near(moment: datetime, expected: datetime) -> bool:
    return abs(moment - expected) < timedelta(seconds=30)


async def test_every_service_follows_the_clock_and_a_late_one_starts_on_it(
    make_settings: Callable[..., HearthSettings],
) -> None:
    referral = make_settings("referral", environment="test", scenario_clock=True)
    support = make_settings("support", environment="test", scenario_clock=True)
    clocks = [ScenarioClock(referral), ScenarioClock(support)]
    for clock in clocks:
        await clock.start()
    try:
        assert all(near(c.now(), datetime.now(UTC)) for c in clocks)  # nothing set: real time
        await set_scenario_clock(referral, JUNE, set_by="test", reason="Tool 4 branches")

        async def in_june() -> bool:
            return all(near(c.now(), JUNE) for c in clocks)

        await eventually(in_june)
        assert {c.last.reason for c in clocks if c.last} == {"Tool 4 branches"}

        # A service (re)started after the clock was set is on it before it serves.
        late = ScenarioClock(make_settings("allocation", environment="test", scenario_clock=True))
        await late.start()
        assert near(late.now(), JUNE)
        await late.stop()

        # Twelve weeks on, then back to real time: the newest setting wins everywhere.
        await set_scenario_clock(support, JUNE + timedelta(weeks=12))

        async def twelve_weeks_on() -> bool:
            return all(near(c.now(), JUNE + timedelta(weeks=12)) for c in clocks)

        await eventually(twelve_weeks_on)
        await set_scenario_clock(referral, datetime.now(UTC))

        async def real_again() -> bool:
            return all(near(c.now(), datetime.now(UTC)) for c in clocks)

        await eventually(real_again)
    finally:
        for clock in clocks:
            await clock.stop()


async def test_a_services_runtime_runs_on_the_scenario_clock(
    make_settings: Callable[..., HearthSettings],
) -> None:
    settings = make_settings("probe", environment="training", scenario_clock=True)
    await set_scenario_clock(settings, JUNE, reason="acceptance")
    runtime = ServiceRuntime(settings, configure_logs=False)
    assert isinstance(runtime.clock, ScenarioClock)
    await runtime.start(background_loops=False)
    try:
        assert near(runtime.clock.now(), JUNE)
    finally:
        await runtime.stop()


async def test_production_never_publishes_a_scenario(
    make_settings: Callable[..., HearthSettings],
) -> None:
    settings = make_settings("probe")  # production, as every deployment is unless it says
    with pytest.raises(ScenarioClockRefused, match="time cannot be moved in production"):
        await set_scenario_clock(settings, JUNE)


def passwords(infra: Infrastructure) -> dict[str, str]:
    return dict(json.loads(Path(infra.kafka_credentials_file).read_text()))


async def test_a_services_own_principal_follows_the_clock_under_the_brokers_acls(
    infra: Infrastructure, make_settings: Callable[..., HearthSettings]
) -> None:
    """As in the demo: the broker's ACLs (shared/broker_access.py) let each service's own
    principal make and read the clock topic; only the admin sets it."""
    if not infra.kafka_credentials_file:
        pytest.skip("this broker runs without authentication (HEARTH_KAFKA_CREDENTIALS_FILE)")
    admin = make_settings("admin", environment="test")
    await apply_acls(admin)
    principal = service_principal("notifications")
    password = passwords(infra)[principal]
    own = make_settings(
        "notifications",
        environment="test",
        scenario_clock=True,
        kafka_username=principal,
        kafka_password=password,
    )
    clock = ScenarioClock(own)
    await clock.start()  # the first to start makes the topic, under its own grants
    try:
        await set_scenario_clock(admin, JUNE)

        async def in_june() -> bool:
            return near(clock.now(), JUNE)

        await eventually(in_june)
    finally:
        await clock.stop()
