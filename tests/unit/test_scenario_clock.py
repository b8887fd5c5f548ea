"""The scenario clock's rules, with no I/O: refused in production (issue 20: "a trained-staff
or test deployment needs a way to run a scenario on a chosen date", refused in production
settings), the time it keeps, and `?as_of=` on rule endpoints."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.as_of import AsOf
from shared.clock import ManualClock, OffsetFileClock, SystemClock, clock_from_settings
from shared.runtime import ServiceRuntime
from shared.scenario_clock import (
    ScenarioClock,
    ScenarioClockRefused,
    ScenarioClockSet,
    main,
    parse_duration,
    parse_moment,
    within_reach,
)
from shared.settings import HearthSettings, get_settings

REAL = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


# --- refused in production (written first) ---------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"scenario_clock": True}, "HEARTH_SCENARIO_CLOCK"),
        ({"clock_offset_file": "/tmp/clock-offset"}, "HEARTH_CLOCK_OFFSET_FILE"),
    ],
)
def test_a_production_service_with_a_scenario_clock_refuses_to_start(
    overrides: dict[str, Any], setting: str
) -> None:
    settings = HearthSettings(environment="production", **overrides)
    with pytest.raises(ScenarioClockRefused, match=rf"^{setting}: time cannot be moved"):
        clock_from_settings(settings)
    with pytest.raises(ScenarioClockRefused, match=setting):
        ServiceRuntime(settings, configure_logs=False)


def test_production_is_what_a_deployment_is_unless_it_says_otherwise() -> None:
    assert HearthSettings().environment == "production"
    with pytest.raises(ScenarioClockRefused):
        clock_from_settings(HearthSettings(scenario_clock=True))


def test_the_command_refuses_in_production_before_reaching_the_broker(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEARTH_ENVIRONMENT", "production")
    monkeypatch.setenv("HEARTH_KAFKA", "127.0.0.1:1")  # nothing listens: never reached
    get_settings.cache_clear()
    try:
        assert main(["set", "2026-06-01"]) == 2
    finally:
        get_settings.cache_clear()
    assert "time cannot be moved in production" in capsys.readouterr().err


# --- the clocks a deployment gets ------------------------------------------------------------


def test_without_a_scenario_a_service_runs_on_real_time() -> None:
    assert isinstance(clock_from_settings(HearthSettings()), SystemClock)
    assert isinstance(clock_from_settings(""), SystemClock)
    offset = HearthSettings(environment="test", clock_offset_file="/tmp/x")
    assert isinstance(clock_from_settings(offset), OffsetFileClock)
    assert isinstance(
        clock_from_settings(HearthSettings(environment="training", scenario_clock=True)),
        ScenarioClock,
    )


def test_time_runs_on_from_the_scenarios_moment_and_the_newest_setting_wins() -> None:
    real = ManualClock(REAL)
    clock = ScenarioClock(HearthSettings(environment="test"), base=real)
    assert clock.now() == REAL  # nothing read yet: real time
    june = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    clock.apply(ScenarioClockSet(at=june, set_at=REAL, reason="Tool 4 at six months"))
    assert clock.now() == june
    real.advance(timedelta(hours=2))
    assert clock.now() == june + timedelta(hours=2)  # timers fire as scenario time passes
    clock.apply(ScenarioClockSet(at=real.now(), set_at=real.now()))  # a reset
    assert clock.now() == real.now()


def test_a_scenario_stays_within_ten_years_and_names_its_zone() -> None:
    assert within_reach(datetime(2030, 1, 1, tzinfo=UTC), REAL)
    with pytest.raises(ValueError, match=r"^at: a scenario must be within ten years"):
        within_reach(datetime(2062, 1, 1, tzinfo=UTC), REAL)
    with pytest.raises(ValueError, match=r"^at: give a time zone"):
        within_reach(datetime(2026, 6, 1), REAL)


def test_the_commands_dates_and_durations() -> None:
    assert parse_moment("2026-06-01") == datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    assert parse_moment("2026-06-01T14:30:00+01:00").hour == 14
    assert parse_duration("84d") == timedelta(days=84)
    assert parse_duration("12w") == timedelta(weeks=12)
    assert parse_duration("-3h") == timedelta(hours=-3)
    with pytest.raises(ValueError, match=r"^by: "):
        parse_duration("three months")
    with pytest.raises(ValueError, match=r"^at: "):
        parse_moment("next tuesday")


# --- ?as_of= on rule endpoints ---------------------------------------------------------------


def rule_app(environment: str) -> FastAPI:
    """A rule endpoint as a service declares one, on a service whose clock says 5 Jan 2026."""
    app = FastAPI()
    app.state.runtime = SimpleNamespace(
        clock=ManualClock(REAL), settings=HearthSettings(environment=environment)
    )

    @app.get("/v1/decision")
    async def decision(as_of: AsOf) -> dict[str, str]:
        return {"decided_on": as_of.isoformat()}

    return app


async def ask(app: FastAPI, query: str = "") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rules") as client:
        return await client.get(f"/v1/decision{query}")


async def test_production_refuses_as_of_naming_the_field() -> None:
    response = await ask(rule_app("production"), "?as_of=2026-06-01")
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", "as_of"]
    assert "time cannot be moved in production" in error["msg"]


async def test_without_as_of_a_rule_decides_on_the_services_today() -> None:
    for environment in ("production", "test"):
        response = await ask(rule_app(environment))
        assert response.json() == {"decided_on": "2026-01-05"}


async def test_elsewhere_as_of_is_the_day_decided_on() -> None:
    response = await ask(rule_app("training"), "?as_of=2026-06-01")
    assert response.json() == {"decided_on": date(2026, 6, 1).isoformat()}
    far = await ask(rule_app("training"), "?as_of=2040-01-01")
    assert far.status_code == 422 and far.json()["detail"][0]["loc"] == ["query", "as_of"]
    bad = await ask(rule_app("training"), "?as_of=June")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "as_of"]
