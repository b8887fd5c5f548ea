"""Hand-made case histories for the H-CLIC extract's tests: facts as the store keeps them,
folded with the outcomes service's own fold."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from services.outcomes.facts import Fact
from services.outcomes.histories import CaseHistory, fold_case

COUNCIL_A = "council-a"
COUNCIL_B = "council-b"
KEY = "hclic-test-key-of-at-least-32-characters"
Q1 = date(2026, 4, 1)  # 2026-27 Q1: 1 April to 30 June 2026

_ids = itertools.count(1)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


def fact(kind: str, case_id: str, day: date, org: str = COUNCIL_A, **data: Any) -> Fact:
    return Fact(f"e{next(_ids)}", kind, org, case_id, at(day), data)


def case_facts(
    case_id: str,
    *,
    org: str = COUNCIL_A,
    referred: date | None = None,
    route: str | None = "support",
    assessed: date | None = None,
    allocated: date | None = None,
    first_contact: date | None = None,
    plan: date | None = None,
    reviews: tuple[tuple[str, date], ...] = (),
    closed: date | None = None,
    reason: str | None = None,
    outcome: str | None = None,
    needs: tuple[str, ...] = (),
    source: str | None = "probation",
    tenancy_id: str | None = None,
    destination: str | None = None,
    facing: date | None = None,
) -> list[Fact]:
    """The facts of one case; the referral is assessed the day it arrives unless told."""
    facts: list[Fact] = []
    if referred is not None:
        received: dict[str, Any] = {
            "person_id": f"p-{case_id}",
            "received_at": at(referred).isoformat(),
            "support_needs": list(needs),
            "automatic": False,
        }
        if source:
            received["referral_source"] = source
        if tenancy_id:
            received["tenancy_id"] = tenancy_id
        facts.append(fact("ReferralReceived", case_id, referred, org, **received))
        if route is not None:
            assessed_data: dict[str, Any] = {"route": route, "support_needs": list(needs)}
            if facing:
                assessed_data["date_facing_homelessness"] = facing.isoformat()
            facts.append(
                fact("ReferralAssessed", case_id, assessed or referred, org, **assessed_data)
            )
    if allocated is not None:
        allocation: dict[str, Any] = {"route": route, "allocated_at": at(allocated).isoformat()}
        allocation |= {"team_id": "team-1", "lead_worker_id": "w-1", "stage": "stage_2"}
        facts.append(fact("CaseAllocated", case_id, allocated, org, **allocation))
    if first_contact is not None:
        on = first_contact.isoformat()
        facts.append(fact("ContactLogged", case_id, first_contact, org, contact_on=on))
    if plan is not None:
        facts.append(fact("SupportPlanAgreed", case_id, plan, org, agreed_on=plan.isoformat()))
    for n, (point, done) in enumerate(reviews):
        data = {"review_id": f"r{n}", "review_point": point, "completed_on": done.isoformat()}
        facts.append(fact("ReviewCompleted", case_id, done, org, **data))
    if destination is not None:
        day = allocated or referred or Q1
        facts.append(
            fact(
                "ReconnectionPhaseChanged",
                case_id,
                day,
                org,
                phase="plan",
                destination_area=destination,
            )
        )
    if closed is not None:
        closure: dict[str, Any] = {"route": route, "closed_at": at(closed).isoformat()}
        if reason:
            closure["reason"] = reason
        if outcome:
            closure["tenancy_outcome"] = outcome
        facts.append(fact("CaseClosed", case_id, closed, org, **closure))
    return facts


def case(case_id: str, **kwargs: Any) -> CaseHistory:
    return fold_case(case_id, case_facts(case_id, **kwargs))
