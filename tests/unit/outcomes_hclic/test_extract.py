"""The H-CLIC extract: one council's cases active in one financial quarter, one row per case
per section, keyed by a stable case identifier (issue 18, "What to build" 3)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import pytest

from services.outcomes.hclic.case_ref import CaseRefKeyError, case_ref
from services.outcomes.hclic.extract import extract
from services.outcomes.hclic.fields import (
    COLUMNS,
    HCLIC_SUPPORT_NEEDS,
    HEARTH_ONLY_NEEDS,
    DutyEnded,
    Section,
    duty_ended,
)
from services.outcomes.hclic.quarter import Quarter
from services.outcomes.histories import fold_case
from shared.codes import ClosureReason as R
from shared.codes import SupportNeed
from shared.codes import TenancyOutcome as T
from tests.unit.outcomes_hclic.cases import COUNCIL_A, COUNCIL_B, KEY, Q1, case, case_facts, fact

NO_NEEDS = {need.value: "0" for need in HCLIC_SUPPORT_NEEDS}


def ref(case_id: str, council: str = COUNCIL_A) -> str:
    return case_ref(council, case_id, key=KEY)


def two_councils() -> list:  # type: ignore[type-arg]
    return [
        case(
            "a1",
            referred=date(2026, 4, 10),
            allocated=date(2026, 4, 12),
            first_contact=date(2026, 4, 14),
            plan=date(2026, 4, 20),
            reviews=(("6_weeks", date(2026, 6, 1)),),
            closed=date(2026, 6, 15),
            reason=R.PLAN_ACHIEVED,
            outcome=T.SUSTAINED,
            needs=("mental_health", "rough_sleeping", "budgeting_debt"),
            tenancy_id="derby-homes:t-1",
        ),
        case(
            "a2",
            route="reconnection",
            referred=date(2026, 3, 20),
            allocated=date(2026, 3, 22),
            first_contact=date(2026, 3, 23),
            needs=("rough_sleeping",),
            source="outreach_team",
            destination="leeds",
        ),
        case("a3", referred=date(2026, 6, 30), source="self_referral"),
        case("b1", org=COUNCIL_B, referred=date(2026, 5, 1), allocated=date(2026, 5, 2)),
    ]


def test_council_a_gets_exactly_its_own_rows_in_every_section() -> None:
    out = extract(two_councils(), COUNCIL_A, Q1, key=KEY)
    a1, a2, a3 = ref("a1"), ref("a2"), ref("a3")
    assert [c.case_id for c in out.cases] == [
        c for _, c in sorted([(a1, "a1"), (a2, "a2"), (a3, "a3")])
    ]
    by_ref = {section: {r["case_ref"]: r for r in out.rows(section)} for section in Section}
    assert by_ref[Section.MAIN] == {
        a1: {
            "case_ref": a1,
            "local_authority": COUNCIL_A,
            "referral_date": "2026-04-10",
            "ASSESS_DATE": "2026-04-10",
            "duty_start_date": "2026-04-12",
            "date_facing_homelessness": "",
            "referral_source": "probation",
            "duty_to_refer": "1",
        },
        a2: {
            "case_ref": a2,
            "local_authority": COUNCIL_A,
            "referral_date": "2026-03-20",
            "ASSESS_DATE": "2026-03-20",
            "duty_start_date": "2026-03-22",
            "date_facing_homelessness": "",
            "referral_source": "outreach_team",
            "duty_to_refer": "0",
        },
        a3: {
            "case_ref": a3,
            "local_authority": COUNCIL_A,
            "referral_date": "2026-06-30",
            "ASSESS_DATE": "2026-06-30",
            "duty_start_date": "",
            "date_facing_homelessness": "",
            "referral_source": "self_referral",
            "duty_to_refer": "0",
        },
    }
    assert by_ref[Section.SUPPORT] == {
        a1: {"case_ref": a1, **NO_NEEDS, "mental_health": "1", "rough_sleeping": "1"},
        a2: {"case_ref": a2, **NO_NEEDS, "rough_sleeping": "1"},
        a3: {"case_ref": a3, **NO_NEEDS},
    }
    assert by_ref[Section.PREVENTION] == {
        a1: {
            "case_ref": a1,
            "duty_start_date": "2026-04-12",
            "activity": "tenancy_support",
            "duty_end_date": "2026-06-15",
            "reason_duty_ended": "secured_existing_accommodation",
            "closure_reason": "plan_achieved",
            "tenancy_outcome": "sustained",
        },
        a3: {  # waiting for a caseworker at the quarter's end
            "case_ref": a3,
            "duty_start_date": "",
            "activity": "floating_support",
            "duty_end_date": "",
            "reason_duty_ended": "",
            "closure_reason": "",
            "tenancy_outcome": "",
        },
    }
    assert by_ref[Section.RELIEF] == {
        a2: {
            "case_ref": a2,
            "duty_start_date": "2026-03-22",
            "activity": "reconnection",
            "duty_end_date": "",
            "reason_duty_ended": "",
            "closure_reason": "",
            "tenancy_outcome": "",
            "destination_area": "leeds",
        }
    }
    assert by_ref[Section.ASSISTANCE] == {
        a1: {
            "case_ref": a1,
            "support_provided": "tenancy_support",
            "support_start_date": "2026-04-12",
            "first_contact_date": "2026-04-14",
            "days_to_first_contact": "4",
            "plan_agreed_date": "2026-04-20",
            "reviews_completed": "1",
            "support_end_date": "2026-06-15",
        },
        a2: {
            "case_ref": a2,
            "support_provided": "reconnection",
            "support_start_date": "2026-03-22",
            "first_contact_date": "2026-03-23",
            "days_to_first_contact": "3",
            "plan_agreed_date": "",
            "reviews_completed": "0",
            "support_end_date": "",
        },
    }


def test_a_case_of_council_b_never_appears_in_council_as_extract() -> None:
    cases = two_councils()
    a = extract(cases, COUNCIL_A, Q1, key=KEY)
    b = extract(cases, COUNCIL_B, Q1, key=KEY)
    assert [c.case_id for c in b.cases] == ["b1"]
    assert "b1" not in {c.case_id for c in a.cases}
    for section in Section:
        assert ref("b1", COUNCIL_B) not in a.to_csv(section)
        assert {r["case_ref"] for r in a.rows(section)}.isdisjoint(
            {r["case_ref"] for r in b.rows(section)}
        )
    assert {r["local_authority"] for r in b.rows(Section.MAIN)} == {COUNCIL_B}


def test_a_case_belongs_to_the_council_that_allocated_it_not_the_one_referred_to() -> None:
    """Referred to council A, allocated by council B: it is in B's return only, never both."""
    facts = case_facts("x1", referred=date(2026, 4, 2))
    facts += case_facts("x1", org=COUNCIL_B, referred=None, allocated=date(2026, 4, 3))
    moved = fold_case("x1", facts)
    assert extract([moved], COUNCIL_A, Q1, key=KEY).cases == []
    assert [c.case_id for c in extract([moved], COUNCIL_B, Q1, key=KEY).cases] == ["x1"]


@pytest.mark.parametrize(
    ("name", "kwargs", "included"),
    [
        ("referred on the quarter's last day", {"referred": date(2026, 6, 30)}, True),
        ("referred the day after it ends", {"referred": date(2026, 7, 1)}, False),
        ("referred on its first day", {"referred": date(2026, 4, 1)}, True),
        (
            "closed the day before it starts",
            {
                "referred": date(2026, 1, 5),
                "allocated": date(2026, 1, 6),
                "closed": date(2026, 3, 31),
                "reason": R.DISENGAGED,
            },
            False,
        ),
        (
            "closed on its first day",
            {
                "referred": date(2026, 1, 5),
                "allocated": date(2026, 1, 6),
                "closed": date(2026, 4, 1),
                "reason": R.DISENGAGED,
            },
            True,
        ),
        (
            "open all through it, referred a year before",
            {"referred": date(2025, 4, 1), "allocated": date(2025, 4, 2)},
            True,
        ),
        ("declined at assessment", {"referred": date(2026, 5, 1), "route": "declined"}, False),
        ("sent to a specialist", {"referred": date(2026, 5, 1), "route": "specialist"}, False),
    ],
)
def test_the_quarter_rule(name: str, kwargs: dict, included: bool) -> None:  # type: ignore[type-arg]
    out = extract([case("c", **kwargs)], COUNCIL_A, Q1, key=KEY)
    assert bool(out.cases) is included, name


def test_a_closure_after_the_quarter_is_left_to_the_next_return() -> None:
    closed_later = case(
        "c",
        referred=date(2026, 5, 1),
        allocated=date(2026, 5, 2),
        first_contact=date(2026, 7, 3),
        closed=date(2026, 7, 20),
        reason=R.TENANCY_SUSTAINED,
        outcome=T.SUSTAINED,
        tenancy_id="t-1",
    )
    q1 = extract([closed_later], COUNCIL_A, Q1, key=KEY, made_on=date(2026, 7, 25))
    assert q1.rows(Section.PREVENTION)[0]["duty_end_date"] == ""
    assert q1.rows(Section.PREVENTION)[0]["reason_duty_ended"] == ""
    assert q1.rows(Section.ASSISTANCE)[0]["first_contact_date"] == ""
    q2 = extract([closed_later], COUNCIL_A, date(2026, 7, 1), key=KEY)
    assert q2.rows(Section.PREVENTION)[0]["duty_end_date"] == "2026-07-20"
    assert q2.rows(Section.PREVENTION)[0]["reason_duty_ended"] == "secured_existing_accommodation"


def test_a_history_with_no_case_dates_is_not_a_case() -> None:
    """A learning-log entry with no case folds into a history of its own: never a row."""
    entry = fold_case(
        "entry-1",
        [fact("LearningPointsRecorded", "entry-1", date(2026, 5, 1), entry_id="entry-1")],
    )
    assert extract([entry], COUNCIL_A, Q1, key=KEY).cases == []


def test_the_financial_quarters() -> None:
    assert Quarter.starting(date(2026, 4, 1)) == Quarter(date(2026, 4, 1), date(2026, 6, 30))
    assert Quarter.starting(date(2026, 10, 1)).end == date(2026, 12, 31)
    q4 = Quarter.starting(date(2027, 1, 1))
    assert (q4.end, q4.label) == (date(2027, 3, 31), "2026-27 Q4")
    assert Quarter.starting(date(2026, 4, 1)).label == "2026-27 Q1"
    with pytest.raises(ValueError, match=r"^quarter_start: must be the first day"):
        extract([], COUNCIL_A, date(2026, 5, 1), key=KEY)


def test_the_case_identifier_is_stable_and_holds_no_case_id() -> None:
    """The same in every quarter and after a rebuild (facts folded in another order), and a
    keyed hash: the referrer-chosen case id never leaves."""
    case_id = "jane.doe@example.org-ref-7"
    facts = case_facts(case_id, referred=date(2026, 3, 1), allocated=date(2026, 3, 2))
    rebuilt = fold_case(case_id, list(reversed(facts)))
    q4 = extract([fold_case(case_id, facts)], COUNCIL_A, date(2026, 1, 1), key=KEY)
    q1 = extract([rebuilt], COUNCIL_A, Q1, key=KEY)
    expected = hmac.new(
        KEY.encode(), f"{COUNCIL_A}\0{case_id}".encode(), hashlib.sha256
    ).hexdigest()[:20]
    assert q4.cases[0].case_ref == q1.cases[0].case_ref == expected
    for section in Section:
        assert "jane" not in q1.to_csv(section)
    assert case_ref(COUNCIL_B, case_id, key=KEY) != expected
    with pytest.raises(CaseRefKeyError, match=r"^HEARTH_HCLIC_CASE_REF_KEY: required"):
        extract([], COUNCIL_A, Q1, key="short")


def test_hearths_own_support_needs_are_never_reported() -> None:
    assert {SupportNeed.BUDGETING_DEBT, SupportNeed.BENEFITS} == HEARTH_ONLY_NEEDS
    names = {c.name for c in COLUMNS[Section.SUPPORT]}
    assert names.isdisjoint({"budgeting_debt", "benefits"})
    assert len(names) == 1 + 20


@pytest.mark.parametrize(
    ("reason", "outcome", "section", "expected"),
    [
        (R.TENANCY_SUSTAINED, T.SUSTAINED, Section.PREVENTION, DutyEnded.SECURED_EXISTING),
        (R.PLAN_ACHIEVED, T.SUSTAINED, Section.PREVENTION, DutyEnded.SECURED_EXISTING),
        (R.PLAN_ACHIEVED, T.MOVED_ON_PLANNED, Section.PREVENTION, DutyEnded.SECURED_ALTERNATIVE),
        (R.PLAN_ACHIEVED, T.NOT_APPLICABLE, Section.PREVENTION, None),
        (R.MOVED_ON, T.MOVED_ON_PLANNED, Section.PREVENTION, DutyEnded.SECURED_ALTERNATIVE),
        (R.EVICTED, T.EVICTED, Section.PREVENTION, DutyEnded.HOMELESS),
        (R.ABANDONED, T.ABANDONED, Section.PREVENTION, DutyEnded.HOMELESS),
        (R.NO_PROGRESS, T.EVICTED, Section.PREVENTION, DutyEnded.HOMELESS),
        (R.SUPPORT_LIMIT_REACHED, T.SUSTAINED, Section.PREVENTION, DutyEnded.SECURED_EXISTING),
        (R.DISENGAGED, T.UNKNOWN, Section.PREVENTION, DutyEnded.CONTACT_LOST),
        (R.DECEASED, None, Section.PREVENTION, DutyEnded.WITHDRAWN_OR_DECEASED),
        (R.DECLINED_SUPPORT, None, Section.PREVENTION, DutyEnded.WITHDRAWN_OR_DECEASED),
        (R.RECONNECTED, T.NOT_APPLICABLE, Section.RELIEF, DutyEnded.SECURED_ALTERNATIVE),
        (R.EVICTED, T.EVICTED, Section.RELIEF, None),  # a decision only the council takes
        (R.TRANSFERRED, None, Section.PREVENTION, None),
        (R.CUSTODY, None, Section.PREVENTION, None),
        (R.HOSPITAL, None, Section.PREVENTION, None),
        (None, None, Section.PREVENTION, None),
    ],
)
def test_how_a_closure_maps_to_the_reason_the_duty_ended(
    reason: R | None, outcome: T | None, section: Section, expected: DutyEnded | None
) -> None:
    code, why = duty_ended(section, reason, outcome)
    assert code is expected
    assert bool(why) is (expected is None)


def test_a_reconnection_is_relief_work_and_ends_housed_in_the_home_area() -> None:
    """Safe Connections: "The caseworker should make early initial contact with a destination
    local authority ... before presenting at the local authority Housing Options department
    and making a Part VII application": a rough sleeper is already homeless (relief), and a
    reconnection ends with accommodation in the home area."""
    reconnected = case(
        "r1",
        route="reconnection",
        referred=date(2026, 4, 2),
        allocated=date(2026, 4, 3),
        first_contact=date(2026, 4, 3),
        closed=date(2026, 5, 29),
        reason=R.RECONNECTED,
        outcome=T.NOT_APPLICABLE,
        destination="sheffield",
    )
    out = extract([reconnected], COUNCIL_A, Q1, key=KEY)
    assert out.rows(Section.PREVENTION) == []
    [relief] = out.rows(Section.RELIEF)
    assert relief["reason_duty_ended"] == "secured_alternative_accommodation"
    assert relief["destination_area"] == "sheffield"
