"""Faults: a service killed mid-batch, the broker restarted, the database restarted.

Each time every arrears alert must have exactly one effect — one TenancyAtRisk and one
prevention referral per tenancy, none lost and none doubled — and the services recover unaided.
Effects are read from Kafka, where other services see them, not from a service's tables.
"""

from __future__ import annotations

import asyncio
import signal

import pytest

from devstack.platform import Platform
from devstack.provision import Infrastructure
from shared.ids import tenancy_id
from shared.settings import HearthSettings
from shared.topics import Topic
from tests.e2e.streams import EventLog, alert, publish

pytestmark = pytest.mark.integration

ALERTS = 400
LANDLORD = "derby-homes"


def assert_exactly_one_effect(log: EventLog, references: list[str]) -> None:
    tenancies = {tenancy_id(LANDLORD, ref) for ref in references}
    risk = log.grouped("TenancyAtRisk", "tenancy_id", "alert_id")
    assert set(risk) == tenancies, "every tenancy signalled, and only those"
    assert all(len(ids) == 1 for ids in risk.values()), "one TenancyAtRisk per tenancy"
    referrals = log.grouped("ReferralReceived", "tenancy_id", "case_id")
    assert set(referrals) == tenancies, "one prevention referral per tenancy"
    assert all(len(ids) == 1 for ids in referrals.values()), "never two referrals per tenancy"


async def run_with_fault(
    platform: Platform, settings: HearthSettings, fault: object, name: str
) -> None:
    references = [f"{name}-{i:05d}" for i in range(ALERTS)]
    async with EventLog(settings, Topic.TENANCY_RISK, Topic.REFERRAL_EVENTS) as log:
        await publish(settings, (alert(LANDLORD, ref) for ref in references))
        await log.wait_for(
            lambda log_: len(log_.distinct("TenancyAtRisk", "tenancy_id")) >= ALERTS // 10,
            what="the batch to be under way",
        )
        await asyncio.to_thread(fault)  # type: ignore[arg-type]
        await log.wait_for(
            lambda log_: (
                len(log_.distinct("ReferralReceived", "tenancy_id")) >= ALERTS
                and len(log_.distinct("TenancyAtRisk", "tenancy_id")) >= ALERTS
            ),
            timeout=240,
            what="every alert to take effect after the fault",
        )
        await log.settle(3)
        assert_exactly_one_effect(log, references)


async def test_referral_killed_mid_batch_and_restarted(
    platform: Platform, e2e_settings: HearthSettings
) -> None:
    platform.start_service("referral")
    platform.wait_healthy(timeout=90)

    def kill_and_restart() -> None:
        platform.services["referral"].stop(signal.SIGKILL)
        platform.start_service("referral")
        platform.wait_healthy(timeout=90)

    await run_with_fault(platform, e2e_settings, kill_and_restart, "kill")


def _local_stack(infra: Infrastructure):  # type: ignore[no-untyped-def]
    if infra.origin != "local":
        pytest.skip("restarting servers needs the project's own local stack")
    return infra.handle


async def test_broker_restarted_mid_batch(
    infra: Infrastructure, platform: Platform, e2e_settings: HearthSettings
) -> None:
    stack = _local_stack(infra)
    platform.start_service("referral")
    platform.wait_healthy(timeout=90)

    def restart_kafka() -> None:
        stack.kafka.stop()
        stack.kafka.start()
        stack.kafka.wait_ready()

    await run_with_fault(platform, e2e_settings, restart_kafka, "broker")


async def test_database_restarted_mid_batch(
    infra: Infrastructure, platform: Platform, e2e_settings: HearthSettings
) -> None:
    stack = _local_stack(infra)
    platform.start_service("referral")
    platform.wait_healthy(timeout=90)

    def restart_database() -> None:
        stack.ferretdb.stop()
        stack.ferretdb.start()
        stack.ferretdb.wait_ready()

    await run_with_fault(platform, e2e_settings, restart_database, "database")
