"""Which process runs which consumer group, decided without a broker: the workload setting is
refused unless known, naming its field; a split service runs each of its groups in exactly one
of its two processes (`all` runs every one); the landlords' feed never runs beside a person's
requests; and a bulk process answers health, not the API."""

from __future__ import annotations

import importlib
import importlib.util

import pytest
from pydantic import ValidationError

from shared.broker_access import SERVICE_ACCESS
from shared.consumer import EventConsumer
from shared.kafka import make_broker
from shared.lanes import Lane, Workload
from shared.settings import HearthSettings
from shared.topics import Topic

SPLIT = (Workload.INTERACTIVE, Workload.BULK)


def settings(workload: Workload = Workload.ALL) -> HearthSettings:
    return HearthSettings(service_name="probe", partner_organisations=[], workload=workload)


def consumer(topics: list[Topic], workload: Workload, bulk_source: bool = False) -> EventConsumer:
    made = settings(workload)
    return EventConsumer(made, make_broker(made), topics, bulk_source=bulk_source)


def service_runtimes(workload: Workload) -> dict[str, object]:
    runtimes = {}
    for service in SERVICE_ACCESS:
        if importlib.util.find_spec(f"services.{service}.app") is None:
            continue
        runtimes[service] = importlib.import_module(f"services.{service}.app").build_runtime(
            HearthSettings(service_name=service, partner_organisations=[], workload=workload)
        )
    return runtimes


@pytest.mark.parametrize("value", ["express", "BULK", "", "interactive,bulk"])
def test_an_unknown_workload_is_refused_naming_the_field(value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        settings(value)  # type: ignore[arg-type]
    assert [error["loc"] for error in refused.value.errors()] == [("workload",)]


def test_an_unknown_workload_in_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEARTH_WORKLOAD", "batch")
    with pytest.raises(ValidationError, match="workload"):
        HearthSettings()
    monkeypatch.setenv("HEARTH_WORKLOAD", "bulk")
    assert HearthSettings().workload is Workload.BULK


def test_every_process_runs_all_of_it_unless_told() -> None:
    assert HearthSettings().workload is Workload.ALL


def test_a_laned_consumer_runs_each_lane_in_its_own_kind_of_process() -> None:
    topics = [Topic.CASE_EVENTS, Topic.AGREEMENTS]
    assert consumer(topics, Workload.ALL).lanes_in(Workload.ALL) == (Lane.INTERACTIVE, Lane.BULK)
    assert consumer(topics, Workload.INTERACTIVE).running_groups == ["hearth.probe"]
    assert consumer(topics, Workload.BULK).running_groups == ["hearth.probe.bulk"]


def test_an_unlaned_consumer_runs_with_the_interactive_lanes() -> None:
    topics = [Topic.AGREEMENTS]
    assert consumer(topics, Workload.INTERACTIVE).running_groups == ["hearth.probe"]
    assert consumer(topics, Workload.BULK).running_groups == []
    assert consumer(topics, Workload.ALL).running_groups == ["hearth.probe"]


def test_a_feed_runs_all_its_groups_in_the_bulk_process_only() -> None:
    topics = [Topic.ARREARS_ALERTS, Topic.CASE_EVENTS]
    assert consumer(topics, Workload.INTERACTIVE, bulk_source=True).running_groups == []
    both = ["hearth.probe", "hearth.probe.bulk"]
    assert consumer(topics, Workload.BULK, bulk_source=True).running_groups == both
    assert consumer(topics, Workload.ALL, bulk_source=True).running_groups == both


def test_every_group_of_every_service_runs_in_exactly_one_process_of_a_split() -> None:
    """Nothing a group is given is left unread, and no group is read by both processes."""
    whole = service_runtimes(Workload.ALL)
    split = {workload: service_runtimes(workload) for workload in SPLIT}
    for service, runtime in whole.items():
        run_by: dict[str, list[Workload]] = {}
        for workload in SPLIT:
            for made in split[workload][service].consumers:  # type: ignore[attr-defined]
                for group in made.running_groups:
                    run_by.setdefault(group, []).append(workload)
        groups = [g for made in runtime.consumers for g in made.running_groups]  # type: ignore[attr-defined]
        assert sorted(run_by) == sorted(groups), service
        assert all(len(kinds) == 1 for kinds in run_by.values()), (service, run_by)


def test_the_arrears_feed_is_read_only_where_bulk_work_runs() -> None:
    alerts = "hearth.arrears.alerts"
    for workload, expected in (
        (Workload.ALL, True),
        (Workload.BULK, True),
        (Workload.INTERACTIVE, False),
    ):
        runtime = service_runtimes(workload)["referral"]
        reading = [
            made
            for made in runtime.consumers  # type: ignore[attr-defined]
            if alerts in made.topics and made.running_groups
        ]
        assert bool(reading) is expected, workload
        assert all(made.bulk_source for made in reading)


def test_a_bulk_process_answers_health_but_not_the_api() -> None:
    from services.referral.app import create_app

    def paths(workload: Workload) -> set[str]:
        app = create_app(
            HearthSettings(service_name="referral", partner_organisations=[], workload=workload),
            manage_runtime=False,
        )
        return set(app.openapi()["paths"])

    bulk = paths(Workload.BULK)
    assert {"/health/live", "/health/ready"} <= bulk
    assert not [p for p in bulk if p.startswith("/v1/")]
    assert "/v1/referrals" in paths(Workload.INTERACTIVE)
    assert "/v1/referrals" in paths(Workload.ALL)
