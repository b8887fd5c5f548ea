"""For the tests of the outcomes service's outputs (API, charts, report): a small measure of
the tests' own (its figures follow from the facts at a glance), the facts of two councils'
cases made from real events as the service keeps them, and the service itself on the shared
stack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import httpx
from fastapi import FastAPI

from services.outcomes.app import create_app
from services.outcomes.facts import Fact, fact_from
from services.outcomes.measures.base import (
    Figure,
    GroupBy,
    Measure,
    MeasureQuery,
    ReportingData,
    Unit,
    group_key,
    in_reach,
)
from services.outcomes.store import OutcomesStore
from shared.clock import Clock
from shared.codes import Route
from shared.events.catalogue import CaseAllocated, ReferralReceived, Referrer
from shared.events.envelope import make_event
from shared.settings import HearthSettings

COUNCIL_A = "outputs-council-a"
COUNCIL_B = "outputs-council-b"
NORTH = "team-north"
SOUTH = "team-south"
TODAY = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
CASE_REF_KEY = "test-hclic-case-reference-key-0123456789"


def _referrals(data: ReportingData, query: MeasureQuery) -> list[Figure]:
    counts: dict[tuple[tuple[str, str], ...], int] = {}
    if query.group_by is GroupBy.ORGANISATION:
        counts[()] = 0
    for case in data.cases:
        day = case.referred_on
        if day is None or not in_reach(case, query) or not query.start <= day <= query.end:
            continue
        if query.group_by is GroupBy.MONTH:
            group: dict[str, str] | None = {"month": f"{day.year:04d}-{day.month:02d}"}
        else:
            group = group_key(case, query.group_by)
        if group is not None:
            key = tuple(sorted(group.items()))
            counts[key] = counts.get(key, 0) + 1
    return [Figure(dict(key), float(n), n) for key, n in sorted(counts.items())]


REFERRALS = Measure(
    key="referrals",
    title="Referrals received",
    definition="Cases referred in the period, by the day the referral was received.",
    unit=Unit.CASES,
    compute=_referrals,
)
MEASURES = {REFERRALS.key: REFERRALS}


@dataclass(frozen=True)
class Case:
    organisation: str
    case_id: str
    team_id: str
    worker_id: str
    referred_on: date


def cases() -> list[Case]:
    """Council A: September 2026, 5 referrals to the north team; October 2026, 6 to the north
    team (4 for one worker, 2 for another) and 2 to the south team. Council B: 7 in October,
    to a team it also calls "team-north"."""
    sept, october = date(2026, 9, 14), date(2026, 10, 12)
    made: list[Case] = []
    made += [Case(COUNCIL_A, f"a-sep-{n}", NORTH, "worker-n1", sept) for n in range(5)]
    made += [Case(COUNCIL_A, f"a-oct-n1-{n}", NORTH, "worker-n1", october) for n in range(4)]
    made += [Case(COUNCIL_A, f"a-oct-n2-{n}", NORTH, "worker-n2", october) for n in range(2)]
    made += [Case(COUNCIL_A, f"a-oct-s1-{n}", SOUTH, "worker-s1", october) for n in range(2)]
    made += [Case(COUNCIL_B, f"b-oct-{n}", NORTH, "worker-b1", october) for n in range(7)]
    return made


def facts(case: Case) -> list[Fact]:
    """The case's referral and allocation, as the outcomes service keeps them."""
    at = datetime.combine(case.referred_on, time(10, 0), tzinfo=UTC)
    referral = ReferralReceived(
        case_id=case.case_id,
        person_id=f"person-{case.case_id}",
        referrer=Referrer(organisation=case.organisation, source="outreach_team"),
        received_at=at,
        automatic=False,
        possible_duplicate_of=None,
    )
    allocation = CaseAllocated(
        case_id=case.case_id,
        person_id=f"person-{case.case_id}",
        route=Route.SUPPORT,
        lead_worker_id=case.worker_id,
        team_id=case.team_id,
        team_leader_id=f"leader-{case.team_id}",
        target_hours_per_week=3,
        allocated_at=at.replace(hour=15),
    )
    return [
        fact_from(make_event(data, source=source, organisation=case.organisation, time=when), data)
        for data, source, when in (
            (referral, "referral", at),
            (allocation, "allocation", at.replace(hour=15)),
        )
    ]


def all_facts() -> list[Fact]:
    return [fact for case in cases() for fact in facts(case)]


@dataclass
class RunningOutcomes:
    http: httpx.AsyncClient
    store: OutcomesStore
    app: FastAPI


@asynccontextmanager
async def running_outcomes(
    settings: HearthSettings, clock: Clock, measures: dict[str, Measure] | None = None
) -> AsyncIterator[RunningOutcomes]:
    """The outcomes service on the real broker and database, driven through its HTTP API;
    `measures`: publish these instead of the registry's."""
    app = create_app(settings, clock, manage_runtime=False)
    if measures is not None:
        app.state.measures = measures
    runtime = app.state.runtime
    await runtime.start(background_loops=False)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://outcomes") as http:
            yield RunningOutcomes(http, app.state.store, app)
    finally:
        await app.state.verifier.close()
        await runtime.mongo.drop_database(settings.database_name)
        await runtime.stop()


async def get(
    service: RunningOutcomes, path: str, headers: Any, status: int = 200, /, **params: Any
) -> Any:
    """GET `path`, asserting the status (the answer's text in the failure)."""
    response = await service.http.get(path, headers=headers, params=params)
    assert response.status_code == status, (path, params, response.status_code, response.text)
    return response
