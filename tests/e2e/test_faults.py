"""Faults that really happen, in the middle of a batch: each of the five services killed with
SIGKILL and started again, the broker and the database killed with SIGKILL and started again,
and the broker frozen (SIGSTOP) for longer than the consumers' session timeout.

Every test checks first that its fault landed mid-batch - some, but not all, of the batch's
effects of the part it struck were on Kafka at that moment (broker timestamps) - and then counts
exactly, on Kafka, where the other services see them: every arrears alert has one TenancyAtRisk,
one prevention referral (or, once its case is open, one escalation) and one acknowledgement
sent to the referrer; exactly as many referrals allocated as the caseworkers have room for;
nothing lost, nothing doubled. Re-published copies of an event (same id) are
no doubling: consumers keep event ids. All services run once for the module; each test has its
own organisation, so its own tenancies, caseworkers and counts.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from devstack.platform import DEMO_TENANCY_ID_KEY, Platform
from devstack.provision import Infrastructure
from devstack.stack import LocalStack
from shared.codes import LegalStage
from shared.events.envelope import Envelope, make_event
from shared.events.referral_intake import ReferralSubmission, ReferralSubmitted
from shared.ids import tenancy_id
from shared.settings import HearthSettings
from shared.topics import Topic
from tests.e2e.conftest import Api, move_clock
from tests.e2e.streams import EventLog, alert, eventually, publish_paced
from tests.referral.factories import reconnection_json

pytestmark = pytest.mark.integration

PLATFORM_ENV = {
    # A delivery claimed by a notifications process that is then killed is sent again once its
    # claim lapses; the default (120 s) would leave the test waiting.
    "HEARTH_DELIVERY_LEASE_SECONDS": "15",
}
# Batch sizes: as small as still lets a fault land mid-batch on 2 shared cores. Allocation
# places 5-10 cases a second there, so a batch allocated whole is smaller; the others have
# caseworkers for a few of their referrals (the rest wait on the list): their flow reaches
# allocation too, and exactly that many must be allocated, no claim on a caseworker lost.
ALERTS = 200
ALLOCATED = 80  # allocated whole: the allocation, support and reconnection kills
ROOM = 30  # the caseworkers' room in the other tests
CASELOAD = 20  # per caseworker: with 60 h a week, the caseload and not the hours binds
# shared/kafka.py and shared/consumer.py set no session timeout, so the consumers run with
# aiokafka's (and FastStream's) default, 10 s; there is no setting to change it.
SESSION_TIMEOUT_SECONDS = 10
PAUSE_SECONDS = SESSION_TIMEOUT_SECONDS + 5
TOPICS = (
    Topic.TENANCY_RISK,
    Topic.REFERRAL_EVENTS,
    Topic.CASE_EVENTS,
    Topic.NOTIFICATION_EVENTS,
)
ACKNOWLEDGEMENT = "referral_acknowledgement"  # the referrer's email for each ReferralReceived
TENANCY_ALERT = "urgent_tenancy_alert"  # the caseworker's email for each TenancyAtRisk of a case
Data = dict[str, Any]


@pytest.fixture
def running(module_platform: Platform, infra: Infrastructure) -> Platform:
    """The module's platform with everything up: a test that failed midway may have left a
    service killed or the broker paused."""
    stack = infra.handle if infra.origin == "local" else None
    if isinstance(stack, LocalStack):
        for server in (stack.kafka, stack.ferretdb):
            server.resume()
            if not server.alive():
                server.start()
                server.wait_ready()
    for name, process in list(module_platform.services.items()):
        process.resume()
        if not process.alive():
            module_platform.start_service(name)
    module_platform.wait_healthy(timeout=120)
    return module_platform


def local_stack(infra: Infrastructure) -> LocalStack:
    if infra.origin != "local" or not isinstance(infra.handle, LocalStack):
        pytest.skip("killing servers needs the project's own local stack")
    return infra.handle


# --- what the log shows ------------------------------------------------------------------------


def ids_by(
    log: EventLog,
    short_type: str,
    key: str,
    within: set[str],
    keep: Callable[[Data], bool] = lambda _: True,
) -> dict[str, set[str]]:
    """Distinct event ids of one type per value of `key`, for the values in `within`."""
    groups: dict[str, set[str]] = defaultdict(set)
    for headers, data in log.of_type(short_type):
        if str(data.get(key)) in within and keep(data):
            groups[str(data.get(key))].add(headers["ce_id"])
    return groups


def referral_cases(log: EventLog, tenancies: set[str]) -> set[str]:
    return {
        str(data["case_id"])
        for _, data in log.of_type("ReferralReceived")
        if data.get("tenancy_id") in tenancies
    }


def subjects(
    log: EventLog,
    short_type: str,
    key: str,
    within: set[str],
    keep: Callable[[Data], bool] = lambda _: True,
    before_ms: float | None = None,
) -> set[str]:
    """Values of `key` in `within` that have an event of this type (first written before
    `before_ms`, when given)."""
    return {
        str(data.get(key))
        for stamp, data in log.first_written(short_type).values()
        if str(data.get(key)) in within and keep(data) and (before_ms is None or stamp <= before_ms)
    }


def doubled(groups: dict[str, set[str]], expected: int = 1) -> dict[str, set[str]]:
    return {key: ids for key, ids in groups.items() if len(ids) != expected}


def template_is(template: str, role: str | None = None) -> Callable[[Data], bool]:
    return lambda data: (
        data.get("template") == template and (role is None or data.get("recipient_role") == role)
    )


def copies_seen(log: EventLog) -> str:
    types = (
        "TenancyAtRisk",
        "ReferralReceived",
        "CaseAllocated",
        "CaseEscalated",
        "NotificationSent",
    )
    return ", ".join(f"{t} {log.copies(t)}" for t in types)


# --- the faults ------------------------------------------------------------------------------


Effect = Callable[[EventLog, float | None], int]  # the batch's effects (before a moment, in ms)


@dataclass
class Fault:
    """What strikes (run in a thread) and which effects of the batch it interrupts."""

    what: str
    strike: Callable[[], None]
    effect: Effect


def kill_service(platform: Platform, name: str) -> Callable[[], None]:
    def strike() -> None:
        platform.services[name].kill()
        platform.restart_service(name)

    return strike


async def strike_mid_batch(log: EventLog, fault: Fault, batch: int) -> float:
    """Wait until a quarter of the batch's effects are out, strike; the moment it struck."""
    await log.wait_for(
        lambda log_: fault.effect(log_, None) >= batch // 4,
        timeout=180,
        what=f"a quarter of the batch's effects before: {fault.what}",
        every=0.2,
    )
    moment = time.time() * 1000
    started = time.monotonic()
    await asyncio.to_thread(fault.strike)
    print(f"{fault.what}: back after {time.monotonic() - started:.1f} s")
    return moment


def skip_to_next_sweep(platform: Platform) -> None:
    """Allocation places cases a fault interrupted (and completes a claim a crash left) in its
    sweep, a timer due at the next minute boundary: move every service's clock a minute on so
    it runs now. Only timers move sooner; nothing a test counts depends on the hour."""
    offset = Path(platform.env["HEARTH_CLOCK_OFFSET_FILE"])
    ahead = float(offset.read_text()) if offset.exists() else 0.0
    move_clock(platform, timedelta(seconds=ahead + 60))


def assert_landed_mid_batch(log: EventLog, fault: Fault, moment: float, batch: int) -> None:
    landed = fault.effect(log, moment)
    print(f"{fault.what}: {landed} of {batch} effects existed when it struck")
    assert landed > 0, f"{fault.what} struck before the batch was under way"
    assert landed < batch, (
        f"{fault.what} struck after the whole batch had taken effect ({landed}/{batch}): "
        "too late to test anything; use a bigger batch"
    )


# --- the organisations -----------------------------------------------------------------------


def set_up_organisation(
    platform: Platform, organisation: str, room: int, specialism: str = "generalist"
) -> tuple[Api, list[str]]:
    """A notice mailbox, so the organisation's acknowledgements are really sent (and so
    published as NotificationSent) rather than recorded as undeliverable, and caseworkers
    with room for exactly `room` cases. Returns the caseworkers' ids."""
    api = Api(platform, organisation)
    r = api.put("notifications", "/settings", {"notice_email": f"notices@{organisation}.test"})
    assert r.status_code == 200, r.text
    team_id = f"{organisation}-team"  # team and worker ids are unique across organisations
    team = {
        "id": team_id,
        "name": "Fault tests",
        "team_leader": {"id": f"{organisation}-lead", "name": "Lead", "email": "lead@x.test"},
    }
    r = api.post("allocation", "/teams", team)
    assert r.status_code == 201, r.text
    workers = []
    for i in range(math.ceil(room / CASELOAD)):
        worker = f"{organisation}-w{i}"
        body = {
            "id": worker,
            "team_id": team_id,
            "name": f"Worker {worker}",
            "email": f"{worker}@x.test",
            "specialisms": [specialism],
            "contracted_hours": 60,
            "max_caseload": min(CASELOAD, room - i * CASELOAD),
        }
        r = api.post("allocation", "/caseworkers", body)
        assert r.status_code == 201, r.text
        workers.append(worker)
    return api, workers


# --- the arrears flow: alert -> TenancyAtRisk -> prevention referral -> allocation ---------


@dataclass
class ArrearsBatch:
    """One test's alerts: one landlord, `size` tenancies, caseworkers with `room` for that
    many of the prevention referrals (all of them: `room=size`)."""

    landlord: str
    size: int = ALERTS
    room: int = ROOM

    @property
    def references(self) -> list[str]:
        return [f"{self.landlord}-{i:04d}" for i in range(self.size)]

    @property
    def tenancies(self) -> set[str]:
        # The services run with the demo's key (devstack/platform.py).
        return {tenancy_id(self.landlord, ref, key=DEMO_TENANCY_ID_KEY) for ref in self.references}

    def set_up(self, platform: Platform) -> tuple[Api, list[str]]:
        return set_up_organisation(platform, self.landlord, self.room)

    def alerts(self, legal_stage: LegalStage = LegalStage.NOTICE_SERVED) -> list[Envelope]:
        return [alert(self.landlord, ref, legal_stage) for ref in self.references]

    def risk_effect(self) -> Effect:
        return lambda log, before: len(
            subjects(log, "TenancyAtRisk", "tenancy_id", self.tenancies, before_ms=before)
        )

    def allocation_effect(self) -> Effect:
        return lambda log, before: len(
            subjects(log, "CaseAllocated", "tenancy_id", self.tenancies, before_ms=before)
        )

    def notification_effect(self) -> Effect:
        return lambda log, before: len(
            subjects(
                log,
                "NotificationSent",
                "case_id",
                referral_cases(log, self.tenancies),
                template_is(ACKNOWLEDGEMENT),
                before,
            )
        )

    def done(self, log: EventLog) -> bool:
        tenancies = self.tenancies
        cases = referral_cases(log, tenancies)
        return (
            len(cases) >= len(tenancies)
            and subjects(log, "TenancyAtRisk", "tenancy_id", tenancies) == tenancies
            and subjects(log, "ReferralAssessed", "case_id", cases) == cases
            and len(subjects(log, "CaseAllocated", "case_id", cases)) >= self.room
            and subjects(log, "NotificationSent", "case_id", cases, template_is(ACKNOWLEDGEMENT))
            == cases
        )

    def assert_exactly_once(self, log: EventLog, risk_levels: int = 1) -> set[str]:
        """Every alert's effects exactly once; returns the prevention referrals' case ids."""
        tenancies = self.tenancies
        risk = ids_by(log, "TenancyAtRisk", "tenancy_id", tenancies)
        assert set(risk) == tenancies, f"{len(tenancies - set(risk))} tenancies never signalled"
        assert not doubled(risk, risk_levels), f"TenancyAtRisk not once per level: {doubled(risk)}"
        referrals = ids_by(log, "ReferralReceived", "tenancy_id", tenancies)
        assert set(referrals) == tenancies, (
            f"{len(tenancies - set(referrals))} tenancies without a prevention referral"
        )
        assert not doubled(referrals), f"two prevention referrals: {doubled(referrals)}"
        cases = referral_cases(log, tenancies)
        assert len(cases) == len(tenancies), "one case id per prevention referral"
        for short_type in ("ReferralReceived", "ReferralAssessed"):
            per_case = ids_by(log, short_type, "case_id", cases)
            assert set(per_case) == cases, f"{len(cases - set(per_case))} cases lack {short_type}"
            assert not doubled(per_case), f"{short_type} doubled: {doubled(per_case)}"
        # Exactly as many allocated as the caseworkers have room for: fewer would be a claim
        # on a caseworker lost in the fault, more a case allocated twice or beyond a caseload.
        allocated = ids_by(log, "CaseAllocated", "case_id", cases)
        assert len(allocated) == self.room, f"{len(allocated)} allocated, room for {self.room}"
        assert not doubled(allocated), f"CaseAllocated doubled: {doubled(allocated)}"
        sent = ids_by(log, "NotificationSent", "case_id", cases, template_is(ACKNOWLEDGEMENT))
        assert set(sent) == cases, f"{len(cases - set(sent))} referrals never acknowledged"
        assert not doubled(sent), f"acknowledgement sent twice: {doubled(sent)}"
        return cases


async def arrears_batch_with_fault(
    platform: Platform,
    settings: HearthSettings,
    batch: ArrearsBatch,
    fault_for: Callable[[ArrearsBatch], Fault],
) -> None:
    batch.set_up(platform)
    fault = fault_for(batch)
    started = time.monotonic()
    async with EventLog(settings, *TOPICS, since=time.time()) as log:
        sending = asyncio.create_task(publish_paced(settings, batch.alerts()))
        moment = await strike_mid_batch(log, fault, batch.size)
        skip_to_next_sweep(platform)
        await sending
        await log.wait_for(
            batch.done, timeout=300, what=f"every alert to take effect ({fault.what})", every=1
        )
        await log.settle(3)  # anything doubled would turn up now
        assert_landed_mid_batch(log, fault, moment, batch.size)
        batch.assert_exactly_once(log)
        print(f"{fault.what}: done in {time.monotonic() - started:.1f} s; {copies_seen(log)}")


# --- the tests ---------------------------------------------------------------------------------


async def test_referral_killed_mid_batch(
    running: Platform, module_settings: HearthSettings
) -> None:
    await arrears_batch_with_fault(
        running,
        module_settings,
        ArrearsBatch("kill-referral-homes"),
        lambda b: Fault("referral killed", kill_service(running, "referral"), b.risk_effect()),
    )


async def test_allocation_killed_mid_batch(
    running: Platform, module_settings: HearthSettings
) -> None:
    await arrears_batch_with_fault(
        running,
        module_settings,
        ArrearsBatch("kill-allocation-homes", ALLOCATED, room=ALLOCATED),
        lambda b: Fault(
            "allocation killed", kill_service(running, "allocation"), b.allocation_effect()
        ),
    )


async def test_notifications_killed_mid_batch(
    running: Platform, module_settings: HearthSettings
) -> None:
    await arrears_batch_with_fault(
        running,
        module_settings,
        ArrearsBatch("kill-notifications-homes"),
        lambda b: Fault(
            "notifications killed", kill_service(running, "notifications"), b.notification_effect()
        ),
    )


def open_support_cases(api: Api, workers: list[str]) -> int:
    total = 0
    for worker in workers:
        r = api.get("support", f"/caseworkers/{worker}/cases")
        if r.status_code != 200:
            return -1
        total += len(r.json()["cases"])
    return total


async def test_support_killed_mid_batch(running: Platform, module_settings: HearthSettings) -> None:
    """Support acts on the second alert of a tenancy whose prevention case it holds: the
    eviction date raises the risk to critical and support escalates the case. It is killed
    while escalating the batch."""
    batch = ArrearsBatch("kill-support-homes", ALLOCATED, room=ALLOCATED)
    size = batch.size
    api, workers = batch.set_up(running)
    started = time.monotonic()
    async with EventLog(module_settings, *TOPICS, since=time.time()) as log:
        await publish_paced(module_settings, batch.alerts(), chunk=100)
        await log.wait_for(
            batch.done, timeout=300, what="the prevention cases to be allocated", every=1
        )
        await eventually(
            lambda: open_support_cases(api, workers) >= size,
            timeout=120,
            what="support to open every case",
        )
        cases = referral_cases(log, batch.tenancies)
        caseworker_told = template_is(TENANCY_ALERT, "caseworker")

        def escalations(log_: EventLog, before: float | None) -> int:
            return len(subjects(log_, "CaseEscalated", "case_id", cases, before_ms=before))

        def critical_risk(log_: EventLog) -> dict[str, set[str]]:
            return ids_by(
                log_,
                "TenancyAtRisk",
                "tenancy_id",
                batch.tenancies,
                lambda data: data.get("risk_level") == "critical",
            )

        def tenancy_alerts_sent(log_: EventLog) -> dict[str, set[str]]:
            triggers = set().union(*critical_risk(log_).values())
            return ids_by(log_, "NotificationSent", "trigger_event_id", triggers, caseworker_told)

        fault = Fault("support killed", kill_service(running, "support"), escalations)
        eviction = batch.alerts(LegalStage.EVICTION_DATE_SET)
        sending = asyncio.create_task(publish_paced(module_settings, eviction))
        moment = await strike_mid_batch(log, fault, size)
        skip_to_next_sweep(running)
        await sending
        await log.wait_for(
            lambda log_: (
                escalations(log_, None) == size
                and len(critical_risk(log_)) == size
                and len(tenancy_alerts_sent(log_)) == size
            ),
            timeout=300,
            what="every case to be escalated and its caseworker told",
            every=1,
        )
        await log.settle(3)
        assert_landed_mid_batch(log, fault, moment, size)
        # Two signals per tenancy (high, then critical) and still one referral: the second
        # alert found the case open and escalated it instead.
        assert batch.assert_exactly_once(log, risk_levels=2) == cases
        assert not doubled(critical_risk(log)), f"critical twice: {doubled(critical_risk(log))}"
        escalated = ids_by(log, "CaseEscalated", "case_id", cases)
        assert set(escalated) == cases, f"{len(cases - set(escalated))} cases never escalated"
        assert not doubled(escalated), f"escalated twice: {doubled(escalated)}"
        sent = tenancy_alerts_sent(log)
        assert len(sent) == size, f"{size - len(sent)} tenancy alerts never sent"
        assert not doubled(sent), f"tenancy alert sent twice: {doubled(sent)}"
        print(f"support killed: done in {time.monotonic() - started:.1f} s; {copies_seen(log)}")


def reconnection_referral(organisation: str, referral_id: str, n: int) -> Envelope:
    """A partner's referral on referral.intake that screens to reconnection; a person of its
    own (so same-person recognition links none of them) and no contact details to send to."""
    body = reconnection_json(
        person={
            "given_name": "Robin",
            "family_name": f"Fault{n:04d}",
            "date_of_birth": (date(1970, 1, 1) + timedelta(days=37 * n)).isoformat(),
            "household": [],
        },
        contact=None,
        consent={"to_record": True, "to_share": True},
    )
    data = ReferralSubmitted(
        referral_id=referral_id, submission=ReferralSubmission.model_validate(body)
    )
    return make_event(data, source=f"urn:hearth:partner:{organisation}", organisation=organisation)


async def test_reconnection_killed_mid_batch(
    running: Platform, module_settings: HearthSettings
) -> None:
    """Partners' referrals that screen to reconnection: allocated to reconnection workers and
    walked by the reconnection service to *engage*; it is killed on the way."""
    size = ALLOCATED
    organisation = "kill-reconnection-council"
    set_up_organisation(running, organisation, size, "reconnection")
    cases = {f"{organisation}-{i:04d}" for i in range(size)}
    referrals = [reconnection_referral(organisation, c, n) for n, c in enumerate(sorted(cases))]

    def phase(name: str) -> Callable[[Data], bool]:
        return lambda data: data.get("phase") == name

    def engaged(log: EventLog, before: float | None) -> int:
        return len(
            subjects(log, "ReconnectionPhaseChanged", "case_id", cases, phase("engage"), before)
        )

    def acknowledged(log: EventLog) -> set[str]:
        return subjects(log, "NotificationSent", "case_id", cases, template_is(ACKNOWLEDGEMENT))

    fault = Fault("reconnection killed", kill_service(running, "reconnection"), engaged)
    started = time.monotonic()
    async with EventLog(module_settings, *TOPICS, since=time.time()) as log:
        sending = asyncio.create_task(publish_paced(module_settings, referrals))
        moment = await strike_mid_batch(log, fault, size)
        skip_to_next_sweep(running)
        await sending
        await log.wait_for(
            lambda log_: engaged(log_, None) == size and acknowledged(log_) == cases,
            timeout=300,
            what="every reconnection case to reach engage",
            every=1,
        )
        await log.settle(3)
        assert_landed_mid_batch(log, fault, moment, size)
        for short_type in ("ReferralReceived", "ReferralAssessed", "CaseAllocated"):
            per_case = ids_by(log, short_type, "case_id", cases)
            assert set(per_case) == cases, f"{len(cases - set(per_case))} cases lack {short_type}"
            assert not doubled(per_case), f"{short_type} doubled: {doubled(per_case)}"
        routes = {d["route"] for _, d in log.of_type("CaseAllocated") if d["case_id"] in cases}
        assert routes == {"reconnection"}
        # The assessment and the allocation may reach the service in either order (two
        # topics): identify is skipped when the allocation comes first; never twice.
        for name, everyone in (("identify", False), ("allocate", True), ("engage", True)):
            moves = ids_by(log, "ReconnectionPhaseChanged", "case_id", cases, phase(name))
            assert not everyone or set(moves) == cases, f"cases never moved to {name}"
            assert not doubled(moves), f"moved to {name} twice: {doubled(moves)}"
        sent = ids_by(log, "NotificationSent", "case_id", cases, template_is(ACKNOWLEDGEMENT))
        assert set(sent) == cases and not doubled(sent), f"acknowledgements: {doubled(sent)}"
        print(f"reconnection killed: done in {time.monotonic() - started:.1f} s")


async def test_database_killed_mid_batch(
    infra: Infrastructure, running: Platform, module_settings: HearthSettings
) -> None:
    """FerretDB killed with SIGKILL: its SQLite files (write-ahead log, synchronous=NORMAL)
    keep every commit through a process crash, and every service reconnects by itself."""
    ferretdb = local_stack(infra).ferretdb

    def kill_and_restart() -> None:
        ferretdb.kill()
        ferretdb.start()
        ferretdb.wait_ready()

    await arrears_batch_with_fault(
        running,
        module_settings,
        ArrearsBatch("kill-database-homes"),
        lambda b: Fault("database killed", kill_and_restart, b.risk_effect()),
    )


async def test_broker_killed_mid_batch(
    infra: Infrastructure, running: Platform, module_settings: HearthSettings
) -> None:
    """Kafka killed with SIGKILL (no controlled shutdown) and started on the same data."""
    kafka = local_stack(infra).kafka

    def kill_and_restart() -> None:
        kafka.kill()
        kafka.start()
        kafka.wait_ready()

    await arrears_batch_with_fault(
        running,
        module_settings,
        ArrearsBatch("kill-broker-homes"),
        lambda b: Fault("broker killed", kill_and_restart, b.risk_effect()),
    )


async def test_broker_unreachable_past_the_session_timeout(
    infra: Infrastructure, running: Platform, module_settings: HearthSettings
) -> None:
    """The broker frozen (SIGSTOP) longer than a consumer's session timeout, then continued:
    as after a network partition, every consumer's membership has lapsed, the groups
    rebalance and batches handled but not committed are read again."""
    kafka = local_stack(infra).kafka

    def freeze() -> None:
        kafka.pause()
        try:
            time.sleep(PAUSE_SECONDS)
        finally:
            kafka.resume()

    await arrears_batch_with_fault(
        running,
        module_settings,
        ArrearsBatch("pause-broker-homes"),
        lambda b: Fault(f"broker paused {PAUSE_SECONDS} s", freeze, b.risk_effect()),
    )


@pytest.fixture(autouse=True)
def _timed(request: pytest.FixtureRequest) -> Iterator[None]:
    started = time.monotonic()
    yield
    print(f"{request.node.name}: {time.monotonic() - started:.1f} s")
