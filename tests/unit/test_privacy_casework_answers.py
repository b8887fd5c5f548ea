"""What allocation, support and reconnection show a person of what they hold, and what they
keep once the person is erased: ids, codes, dates, counts and hours, never their words."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from services.allocation import privacy as allocation_privacy
from services.allocation.records import CaseEntry, StoredRiskSignal
from services.reconnection import privacy as reconnection_privacy
from services.reconnection.local_connection import (
    CandidateArea,
    Employment,
    Ground,
    GroundKind,
    LocalConnectionEvidence,
    LocalConnectionResult,
    ResidencePeriod,
    SpecialCircumstance,
)
from services.reconnection.model import (
    AuthorityContact,
    Budget,
    ClosureLetter,
    ClosureRecord,
    Handover,
    LocalConnectionRecord,
    PartVII,
    PartVIIStatus,
    ReconnectionCase,
    Spend,
    SpendCategory,
    TravelPlan,
)
from services.support import privacy as support_privacy
from services.support.case import (
    Assessment,
    Contact,
    Evaluation,
    Need,
    Plan,
    PlanActionRecord,
    PlanGoal,
    Review,
    SupportCase,
)
from services.support.case import (
    ClosureRecord as SupportClosure,
)
from services.support.closure import BreakdownPoint
from services.support.contacts import ContactChannel
from services.support.plan import ActionOwner, NeedDomain, NeedLevel
from shared.codes import ClosureReason, RiskLevel, Stage, SupportNeed, TenancyOutcome

AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY = date(2026, 1, 5)
WORDS = ["Zoë said", "Ó Súilleabháin", "T-4471", "Greggs Derby", "her sister Aoife", "REF-99"]


def text_of(model: object) -> str:
    dump = getattr(model, "model_dump")(mode="json")  # noqa: B009
    return json.dumps(dump, ensure_ascii=False)


def support_case() -> SupportCase:
    return SupportCase(
        case_id="case-1",
        organisation="derby-council",
        person_id="person-1",
        lead_worker_id="worker-1",
        stage=Stage.STAGE_1,
        stage_started_on=DAY,
        support_started_on=DAY,
        opened_at=AT,
        target_hours_per_week=3.0,
        support_needs=[SupportNeed.MENTAL_HEALTH],
        tenancy_id="derby-homes:T-4471",
        referrer_organisation="probation-east",
        landlords=["derby-homes"],
        support_limit_on=date(2026, 12, 31),
        assessment=Assessment(
            assessed_by="worker-1",
            needs=[Need(domain=NeedDomain.MENTAL_HEALTH, level=NeedLevel.HIGH, notes="Zoë said")],
            risks="Ó Súilleabháin family",
            recorded_on=DAY,
        ),
        plan=Plan(
            plan_id="plan-1",
            version=1,
            drafted_by="worker-1",
            drafted_on=DAY,
            review_on=date(2026, 3, 30),
            goals=[
                PlanGoal(
                    goal_id="g1",
                    domain=NeedDomain.MENTAL_HEALTH,
                    goal="Zoë said she wants to see her sister Aoife",
                    actions=[
                        PlanActionRecord(
                            action_id="g1a1",
                            description="Call her sister Aoife",
                            owner=ActionOwner.WORKER,
                            due_on=DAY,
                        )
                    ],
                )
            ],
        ),
        contacts=[
            Contact(
                contact_id="c1",
                worker_id="worker-1",
                channel=ContactChannel.HOME_VISIT,
                occurred_on=DAY,
                duration_minutes=90,
                notes="Zoë said the boiler is broken",
                logged_at=AT,
            )
        ],
        reviews={
            "r1": Review(
                review_id="r1",
                point="week_6",
                stage=Stage.STAGE_1,
                due_on=DAY,
                reminder_on=DAY,
                status="completed",
                notes="Greggs Derby offered shifts",
            )
        },
        closure=SupportClosure(
            reason=ClosureReason.TENANCY_SUSTAINED,
            tenancy_outcome=TenancyOutcome.SUSTAINED,
            closed_by="worker-1",
            notes="Zoë said thanks",
            evaluation=Evaluation(
                broke_down_at=BreakdownPoint.MOVE_IN,
                what_happened="her sister Aoife moved in",
                what_could_have_prevented_it="REF-99",
                reviewed_with_client=True,
            ),
            closed_on=DAY,
            evaluation_required=True,
        ),
    )


def test_support_bundle_shows_every_record_with_its_words() -> None:
    records = support_privacy.held_records(support_case())
    kinds = [r.kind for r in records]
    assert kinds[0] == "support case" and "contact-log entry" in kinds
    assert {"needs assessment", "support plan", "review", "closure and evaluation"} <= set(kinds)
    contact = next(r for r in records if r.kind == "contact-log entry")
    assert contact.data["notes"] == "Zoë said the boiler is broken"
    assert contact.held_in == "support/cases" and contact.held_since == AT
    assert records[0].shared_with == ["probation-east: referred the case"]


def test_support_case_deidentified_keeps_codes_dates_and_hours() -> None:
    case = support_case()
    kept = support_privacy.deidentified(case)
    text = text_of(kept)
    assert not [w for w in WORDS if w in text], text
    assert kept.tenancy_id is None
    assert kept.support_needs == [SupportNeed.MENTAL_HEALTH]
    assert kept.contacts[0].duration_minutes == 90 and kept.contacts[0].occurred_on == DAY
    assert kept.closure is not None and kept.closure.tenancy_outcome is TenancyOutcome.SUSTAINED
    assert kept.plan is not None and kept.plan.goals[0].domain is NeedDomain.MENTAL_HEALTH
    assert support_privacy.deidentified(kept) == kept  # a repeat changes nothing
    assert "Zoë said" in text_of(case)  # the original is untouched (pure)


def test_allocation_entry_loses_its_tenancy_reference_only() -> None:
    entry = CaseEntry(
        case_id="case-1",
        organisation="derby-council",
        status="allocated",
        person_id="person-1",
        support_needs=[SupportNeed.MENTAL_HEALTH],
        tenancy_id="derby-homes:T-4471",
        received_at=AT,
        risk_signals=[
            StoredRiskSignal(level=RiskLevel.HIGH, tenancy_id="derby-homes:T-4471", at=AT),
            StoredRiskSignal(level=RiskLevel.CRITICAL, tenancy_id="derby-homes:T-4471", at=AT),
        ],
    )
    assert allocation_privacy.needs_deidentifying(entry)
    update = allocation_privacy.deidentifying_update(entry)
    assert update == {
        "$unset": {
            "tenancy_id": "",
            "risk_signals.0.tenancy_id": "",
            "risk_signals.1.tenancy_id": "",
        }
    }
    records = allocation_privacy.held_records(entry)
    assert [r.kind for r in records] == ["waiting-list entry", "tenancy alert", "tenancy alert"]
    assert records[0].data["tenancy_id"] == "derby-homes:T-4471"
    cleared = entry.model_copy(
        update={
            "tenancy_id": None,
            "risk_signals": [s.model_copy(update={"tenancy_id": None}) for s in entry.risk_signals],
        }
    )
    assert not allocation_privacy.needs_deidentifying(cleared)


def reconnection_case() -> ReconnectionCase:
    return ReconnectionCase(
        case_id="case-r",
        organisation="derby-council",
        correlation_id="corr",
        person_id="person-1",
        opened_at=AT,
        last_progress_at=AT,
        destination_area="Leeds",
        local_connection=LocalConnectionRecord(
            evidence=LocalConnectionEvidence(
                residence=[ResidencePeriod(area="Leeds", start=date(2019, 1, 1))],
                employment=[Employment(area="Leeds", employer="Greggs Derby")],
                special_circumstances=[
                    SpecialCircumstance(area="Leeds", description="her sister Aoife")
                ],
            ),
            result=LocalConnectionResult(
                assessed_on=DAY,
                candidates=[
                    CandidateArea(
                        area="Leeds",
                        grounds=[
                            Ground(kind=GroundKind.EMPLOYMENT, detail="employed by Greggs Derby")
                        ],
                    )
                ],
                notes=["employment in Greggs Derby is not current"],
            ),
        ),
        authority_contacts=[
            AuthorityContact(
                area="Leeds",
                contacted_on=DAY,
                contact_name="Ó Súilleabháin",
                organisation="leeds-council",
                notes="Zoë said",
            )
        ],
        part_vii=PartVII(
            status=PartVIIStatus.SUBMITTED, authority="leeds-council", reference="REF-99"
        ),
        travel_plan=TravelPlan(mode="train", travel_date=DAY, route="Zoë said", notes="REF-99"),
        budget=Budget(
            allocated_pence=5000,
            spends=[
                Spend(amount_pence=2500, category=SpendCategory.TRAVEL, note="Zoë said", on=DAY)
            ],
        ),
        handovers=[Handover(agency="Leeds floating support", service="floating", notes="Zoë said")],
        closure=ClosureRecord(
            letter=ClosureLetter(local_support="her sister Aoife", crisis_plan="Zoë said")
        ),
    )


def test_reconnection_bundle_says_what_went_to_the_destination() -> None:
    records = reconnection_privacy.held_records(
        reconnection_case(),
        [{"_id": "learning-1", "case_id": "case-r", "points": ["Zoë said"], "recorded_at": AT}],
    )
    by_kind = {r.kind: r for r in records}
    assert "leeds-council: destination authority" in by_kind["Part VII application"].shared_with
    assert by_kind["destination authority contact"].data["contact_name"] == "Ó Súilleabháin"
    assert by_kind["budget spend"].data["amount_pence"] == 2500
    assert by_kind["learning-log entry"].held_in == "reconnection/learning_log"
    assert by_kind["handover"].shared_with == ["Leeds floating support: handed over to (floating)"]


def test_reconnection_case_deidentified_keeps_areas_dates_and_amounts() -> None:
    kept = reconnection_privacy.deidentified(reconnection_case())
    text = text_of(kept)
    assert not [w for w in WORDS if w in text], text
    assert kept.destination_area == "Leeds" and kept.budget.spent_pence == 2500
    assert kept.part_vii.status is PartVIIStatus.SUBMITTED
    assert ReconnectionCase.model_validate(kept.model_dump(mode="json")) == kept  # still valid
    assert reconnection_privacy.deidentified(kept) == kept


def test_a_learning_entry_keeps_only_how_many_points() -> None:
    fields = reconnection_privacy.deidentified_learning(
        {"points": ["Zoë said", "REF-99"], "highs": ["her sister Aoife"], "lows": []}
    )
    assert fields == {"points": ["(erased)", "(erased)"], "highs": [], "lows": []}
