"""The generated history the demo and the benchmarks load (services/outcomes/history_generator.py):
deterministic, every event a valid catalogue event the outcomes service keeps, no personal
data, and volumes and shapes that make the charts worth looking at."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from datetime import date

import pytest

from services.outcomes.facts import KEPT, fact_from
from services.outcomes.histories import CaseHistory, TenancyHistory, fold_case, fold_tenancy
from services.outcomes.history_generator import OrganisationPlan, generate, seasonal_factor
from services.outcomes.subscriptions import consumed_models
from services.support.closure import REASON_OUTCOMES
from shared.codes import Route, TenancyOutcome
from shared.dates import add_months
from shared.events.base import event_type_name, model_for_type
from shared.events.envelope import Envelope

END = date(2026, 12, 1)
PLANS = (
    OrganisationPlan("demo-council", landlord="demo-homes"),
    OrganisationPlan("other-council", referrals_per_month=20),
)
# Ids a fact is filed under (its subject and the cases a tenancy fact names): kept as the
# fact's subject or case ids, not as data.
IDS = frozenset({"case_id", "tenancy_id", "caseworker_id", "entry_id", "case_ids"})
# Fields the store drops that carry no personal data either: checked one by one below.
DROPPED_HARMLESS = frozenset(
    {"team_leader_id", "reasons", "referrer", "weigh_against_waiting_list"}
)
PERSONAL = re.compile(r"email|name|mobile|phone|address|letter|note|_support$|agency|reference")
CODE = re.compile(r"^[a-z0-9_]+$")
Folded = tuple[dict[str, CaseHistory], dict[str, TenancyHistory]]


@pytest.fixture(scope="module")
def year() -> list[Envelope]:
    return generate(PLANS, end=END, months=12, seed=1)


@pytest.fixture(scope="module")
def folded(year: list[Envelope]) -> Folded:
    facts = defaultdict(list)
    for envelope in year:
        fact = fact_from(envelope, envelope.payload())
        facts[(fact.kind, fact.subject)].append(fact)
    cases = {s: fold_case(s, f) for (kind, s), f in facts.items() if kind == "case"}
    tenancies = {s: fold_tenancy(s, f) for (kind, s), f in facts.items() if kind == "tenancy"}
    return cases, tenancies


def demo_cases(folded: Folded) -> list[CaseHistory]:
    return [c for c in folded[0].values() if c.referral_organisation == "demo-council"]


def test_the_same_seed_gives_the_same_history_and_another_seed_another(
    year: list[Envelope],
) -> None:
    again = generate(PLANS, end=END, months=12, seed=1)
    assert again == year  # every attribute of every envelope, ids and times included
    other = generate(PLANS, end=END, months=3, seed=2)
    assert {e.id for e in other}.isdisjoint({e.id for e in year})


def test_an_organisations_history_does_not_depend_on_the_others() -> None:
    alone = generate(PLANS[:1], end=END, months=2, seed=1)
    together = generate(PLANS, end=END, months=2, seed=1)
    mine = [e for e in together if e.organisation in ("demo-council", "demo-homes")]
    assert [e.model_dump() for e in mine] == [e.model_dump() for e in alone]


def test_every_event_validates_as_its_model_and_is_one_outcomes_keeps(
    year: list[Envelope],
) -> None:
    kept = {event_type_name(m) for m in consumed_models()}
    for envelope in year:
        model = model_for_type(envelope.type)
        assert model is not None, envelope.type
        assert envelope.type in kept, envelope.type
        data = model.model_validate(envelope.data)
        assert envelope.subject == data.subject()
        assert envelope.partitionkey == data.partition_key()
    assert len({e.id for e in year}) == len(year)  # one fact per event


def test_every_type_the_reports_read_is_generated(year: list[Envelope]) -> None:
    types = Counter(e.short_type for e in year)
    for wanted in (
        "ReferralReceived",
        "ReferralAssessed",
        "CaseAllocated",
        "CaseReallocated",
        "ContactLogged",
        "SupportPlanAgreed",
        "StageChanged",
        "ReviewDue",
        "ReviewCompleted",
        "CaseEscalated",
        "CaseClosed",
        "ReconnectionPhaseChanged",
        "PresentationPackDue",
        "ReconnectionFollowedUp",
        "LearningPointsRecorded",
        "TenancyAtRisk",
        "TenancyArrearsReported",
        "TenancyEnded",
        "CaseworkerCapacityChanged",
    ):
        assert types[wanted] > 0, wanted


def test_no_event_carries_a_field_the_fact_store_drops_as_personal(
    year: list[Envelope],
) -> None:
    """Everything generated is either kept by the fact store (`facts.KEPT`: ids, codes, dates,
    amounts) or an id it files the fact under; the few other fields are codes and ids."""
    for envelope in year:
        for name, value in envelope.data.items():
            if value in (None, [], "", False):
                continue
            assert not PERSONAL.search(name) or name == "referrer", (envelope.short_type, name)
            if name in KEPT.get(envelope.short_type, ()) or name in IDS:
                continue
            assert name in DROPPED_HARMLESS, (envelope.short_type, name)
            if name == "referrer":
                filled = {k for k, v in value.items() if v is not None}
                assert filled == {"organisation", "source"}, filled
            elif name == "reasons":
                assert all(CODE.match(reason) for reason in value), value
            elif name == "team_leader_id":
                assert value.startswith("tl-"), value


def test_ids_are_pseudonymous(year: list[Envelope]) -> None:
    for envelope in year:
        data = envelope.data
        if data.get("case_id"):
            assert re.fullmatch(r"ref-[0-9a-f]{32}", data["case_id"])
        if data.get("person_id"):
            assert re.fullmatch(r"p-[0-9a-f]{32}", data["person_id"])
        if data.get("tenancy_id"):
            assert re.fullmatch(r"[a-z-]+:t-[0-9a-f]{24}", data["tenancy_id"])
        for worker in ("lead_worker_id", "caseworker_id", "crisis_worker_id"):
            if data.get(worker):
                assert re.fullmatch(r"cw-[0-9a-f]{10}", data[worker])


def test_twelve_months_of_events_lie_in_the_twelve_months(year: list[Envelope]) -> None:
    start = add_months(END, -12)
    assert all(start <= e.time.date() < END for e in year)
    assert year == sorted(year, key=lambda e: (e.time, e.id))


def test_volumes_for_twelve_months(year: list[Envelope]) -> None:
    """About 40 referrals a month for the first council (20 for the other), each with its
    casework: thousands of contacts, hundreds of closures, one batch of capacity changes."""
    types: dict[str, Counter[str]] = defaultdict(Counter)
    for envelope in year:
        types[envelope.organisation][envelope.short_type] += 1
    demo, other = types["demo-council"], types["other-council"]
    assert 380 <= demo["ReferralReceived"] <= 600
    assert 190 <= other["ReferralReceived"] <= 310
    # Assessed within days: only the last days' referrals may still wait at the end.
    assert 0 <= demo["ReferralReceived"] - demo["ReferralAssessed"] <= 5
    assert 0.8 < demo["CaseAllocated"] / demo["ReferralReceived"] < 0.98
    assert 150 <= demo["CaseClosed"] <= 450
    assert 3_000 <= demo["ContactLogged"] <= 9_000
    assert 5_000 <= sum(demo.values()) <= 15_000
    assert types["demo-homes"]["TenancyArrearsReported"] > demo["ReferralReceived"]
    assert "ReferralReceived" not in types["demo-homes"]  # the landlord only reports


def test_referrals_are_seasonal_highest_in_winter(
    folded: Folded,
) -> None:
    by_month = Counter(c.referred_on.month for c in demo_cases(folded) if c.referred_on)
    winter = by_month[12] + by_month[1] + by_month[2]
    assert winter > 1.4 * (by_month[6] + by_month[7] + by_month[8])
    assert seasonal_factor(date(2026, 1, 15)) == pytest.approx(1.3)
    assert seasonal_factor(date(2026, 7, 16)) == pytest.approx(0.7, abs=0.01)


def test_stage_1_lasts_8_to_12_weeks(
    folded: Folded,
) -> None:
    """Staged model: "Stage 1 ... 8-12 weeks", "Intensive assessment and support - up to 12
    weeks"; the 12-week review is sometimes held late."""
    weeks = [
        (c.stages[1].started_on - c.stages[0].started_on).days / 7
        for c in demo_cases(folded)
        if len(c.stages) > 1 and c.stages[0].stage == "stage_1"
    ]
    assert len(weeks) > 50
    assert 8 <= statistics.median(weeks) <= 12
    assert sum(w <= 12 for w in weeks) / len(weeks) > 0.7


def test_most_move_on_within_12_months(
    folded: Folded,
) -> None:
    """Staged model: "with the expectation that service users move on within 12 months"."""
    closed = [
        c
        for c in demo_cases(folded)
        if c.route == "support" and c.closed_at is not None and c.allocated_at is not None
    ]
    within = [c for c in closed if (c.closed_at - c.allocated_at).days <= 365]  # type: ignore[operator]
    assert len(within) / len(closed) > 0.9


def test_most_tenancies_are_sustained_some_fail_and_some_people_return(
    folded: Folded,
) -> None:
    cases = demo_cases(folded)
    outcomes = Counter(c.tenancy_outcome for c in cases if c.closed_at and c.tenancy_id)
    failed = outcomes[TenancyOutcome.EVICTED] + outcomes[TenancyOutcome.ABANDONED]
    assert outcomes[TenancyOutcome.SUSTAINED] > 0.55 * sum(outcomes.values())
    assert 0 < failed < 0.25 * sum(outcomes.values())
    people = Counter(c.person_id for c in cases)
    repeats = [c for c in cases if c.repeat_cycle]
    assert repeats and all(people[c.person_id] > 1 for c in repeats)
    ended = Counter(t.end_reason for t in folded[1].values() if t.landlord == "demo-homes")
    assert ended["eviction"] > 0 and ended["moved_on"] > 0


def test_support_closures_are_ones_the_support_service_accepts(year: list[Envelope]) -> None:
    for envelope in year:
        if envelope.short_type != "CaseClosed" or envelope.data["route"] != Route.SUPPORT:
            continue
        reason, outcome = envelope.data["reason"], envelope.data["tenancy_outcome"]
        allowed = REASON_OUTCOMES.get(reason)
        assert allowed is None or outcome in allowed, (reason, outcome)
        if envelope.data["tenancy_id"]:
            assert outcome != TenancyOutcome.NOT_APPLICABLE, reason


def test_arrears_fall_after_support_on_average(
    folded: Folded,
) -> None:
    """Derby Homes: "one person's rent arrears fell by £1500"; on average they fall."""
    cases, tenancies = folded
    changes = []
    for case in cases.values():
        tenancy = tenancies.get(case.tenancy_id or "")
        if case.closed_on is None or case.referred_on is None or tenancy is None:
            continue
        before, after = tenancy.balance_on(case.referred_on), tenancy.balance_on(case.closed_on)
        if before is not None and after is not None:
            changes.append(after - before)
    assert len(changes) > 100
    assert statistics.mean(changes) < -100
    assert sum(change < 0 for change in changes) > 0.6 * len(changes)


def test_most_reconnections_hold_at_three_months(
    folded: Folded,
) -> None:
    """Safe Connections: "(Client still in accommodation and engaged after 3 months)"."""
    followed = [c for c in folded[0].values() if c.reconnection_held is not None]
    assert len(followed) > 20
    assert 0.5 < sum(bool(c.reconnection_held) for c in followed) / len(followed) < 0.95
    assert len({c.destination_area for c in followed}) > 3
    assert any(c.learning_themes for c in folded[0].values())


def test_months_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="months"):
        generate(PLANS, end=END, months=0)
