"""200 referrals at once, consumed by two runtimes of the service in one consumer group:
no worker is ever committed beyond contracted hours or caseload, no case allocated twice."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pytest

from services.allocation.backfill import Placed
from services.allocation.records import CaseEntry, Caseworker
from services.allocation.waiting_list import backfill_plan
from shared.clock import ManualClock
from shared.codes import RiskLevel, Route, SupportNeed
from shared.kafka import ensure_topics
from shared.topics import Topic, topic_name
from tests.allocation.helpers import START, Service, assessed, collection, records_of
from tests.helpers import publish, wait_for

pytestmark = pytest.mark.integration

SPECIALISMS = [
    ["generalist"],
    ["mental_health", "generalist"],
    ["domestic_abuse"],
    ["substance_misuse"],
    ["young_people", "generalist"],
    ["offending"],
]
NEEDS = [
    (),
    (SupportNeed.MENTAL_HEALTH,),
    (SupportNeed.DOMESTIC_ABUSE, SupportNeed.BUDGETING_DEBT),
    (SupportNeed.DRUG_DEPENDENCY,),
    (SupportNeed.CARE_LEAVER_18_20,),
    (SupportNeed.OFFENDING, SupportNeed.ALCOHOL_DEPENDENCY),
    (SupportNeed.BENEFITS,),
]


def assigned(service: Service) -> int:
    subscriber = service.runtime.consumers[0]._subscriber
    consumer = getattr(subscriber, "consumer", None)
    return len(consumer.assignment()) if consumer is not None else 0


async def test_two_runtimes_never_over_commit_a_worker(make_settings, topic_reader) -> None:
    settings = make_settings("allocation")
    await ensure_topics(settings)
    clock = ManualClock(START)
    first = await Service(settings, clock).start()
    second = await Service(settings, clock).start()
    try:
        # Derby: four team leaders, a 24-strong team. Hours are tight so many cases wait.
        for team in range(4):
            await first.team(f"team-{team}", leader=f"leader-{team}")
        for n in range(24):
            skills = ["reconnection"] if n in (0, 1) else SPECIALISMS[n % len(SPECIALISMS)]
            await first.worker(
                f"w{n:02d}", *skills, hours=9.0 + (n % 3), caseload=4, team_id=f"team-{n % 4}"
            )
        # Both replicas hold partitions of the group before the burst arrives.
        partitions = 3 * 3  # referral.events, tenancy.risk, case.events

        async def balanced() -> bool:
            shares = (assigned(first), assigned(second))
            return all(shares) and sum(shares) == partitions

        await wait_for(balanced, timeout=30)
        burst = [
            assessed(
                f"case-{n:03d}",
                *NEEDS[n % len(NEEDS)],
                route=Route.RECONNECTION if n % 10 == 0 else Route.SUPPORT,
                risk=RiskLevel.CRITICAL if n % 6 == 0 else RiskLevel.MEDIUM,
            )
            for n in range(200)
        ]
        await publish(settings, *burst, *burst[:20])  # and 20 redelivered

        async def settled() -> list[dict[str, Any]]:
            docs = await collection(settings, "cases")
            known = [d for d in docs if d.get("status") in ("waiting", "allocated")]
            if len(known) < 200 or any(d.get("_outbox_pending") for d in known):
                return []
            raw = await collection(settings, "caseworkers")
            workers = [Caseworker.model_validate(w) for w in raw]
            waiting = [CaseEntry.model_validate(d) for d in known if d["status"] == "waiting"]
            plan = backfill_plan(waiting, workers, START)
            if any(isinstance(d, Placed) for d in plan.decisions.values()):
                return []  # a worker it may take still has room for one: not done yet
            # A claim that lost a race is released just after the winner records: wait for it.
            held = Counter(
                d["allocation"]["worker_id"] for d in known if d["status"] == "allocated"
            )
            raw_workers = await collection(settings, "caseworkers")
            if any(len(w["cases"]) != held[w["worker_id"]] for w in raw_workers):
                return []
            return known

        cases = await wait_for(settled, timeout=75, interval=0.5)
        allocated = {d["_id"]: d["allocation"] for d in cases if d["status"] == "allocated"}
        assert 40 < len(allocated) < 200

        workers = await collection(settings, "caseworkers")
        held: dict[str, list[str]] = defaultdict(list)
        for case_id, allocation in allocated.items():
            held[allocation["worker_id"]].append(case_id)
        for worker in workers:
            committed = worker["contracted_hours"] - worker["free_hours"]
            worker_id = worker["worker_id"]  # the `_id` is scoped by organisation
            assert 0 <= committed <= worker["contracted_hours"], worker_id
            assert 0 <= worker["open_cases"] <= worker["max_caseload"], worker_id
            assert sorted(worker["cases"]) == sorted(held[worker_id]), worker_id
            hours = sum(allocated[c]["hours"] for c in held[worker_id])
            assert committed == hours, worker_id

        reader = await topic_reader(topic_name(Topic.CASE_EVENTS, settings.topic_prefix))
        await reader.read_until(lambda r: len(records_of(r, "CaseAllocated")) >= len(allocated))
        await reader.settle(1.0)
        events = records_of(reader.records, "CaseAllocated")
        per_case = Counter(data["case_id"] for _, data in events)
        assert set(per_case) == set(allocated)
        assert max(per_case.values()) == 1  # each case allocated at most once
        for _, data in events:
            assert data["lead_worker_id"] == allocated[data["case_id"]]["worker_id"]
            if data["route"] == "reconnection":
                assert data["lead_worker_id"] in ("w00", "w01")
        by_runtime = [first.runtime.allocator.allocated, second.runtime.allocator.allocated]
        assert sum(by_runtime) == len(allocated)
    finally:
        await first.stop()
        await second.stop()
