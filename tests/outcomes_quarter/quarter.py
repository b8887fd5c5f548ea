"""A known quarter (April to June 2026, H-CLIC's Q1 of 2026-27) of platform events for two
councils and a landlord, written as a reader would tell it: who was referred when, what
happened, how it ended. Each builder returns the envelopes exactly as the owning service
would have published them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from shared.codes import (
    ClosureReason,
    LearningTheme,
    LegalStage,
    RiskLevel,
    Route,
    Stage,
    SupportNeed,
    TenancyEndReason,
    TenancyOutcome,
)
from shared.events.catalogue import (
    CaseAllocated,
    CaseClosed,
    CaseEscalated,
    CaseworkerCapacityChanged,
    ContactLogged,
    EventData,
    LearningPointsRecorded,
    ReconnectionFollowedUp,
    ReconnectionPhaseChanged,
    ReferralAssessed,
    ReferralReceived,
    Referrer,
    ReviewCompleted,
    ReviewDue,
    StageChanged,
    SupportPlanAgreed,
    TenancyArrearsReported,
    TenancyAtRisk,
    TenancyEnded,
)
from shared.events.envelope import Envelope, make_event
from shared.ids import stable_id

DERBY = "derby-council"
LEEDS = "leeds-council"
LANDLORD = "derby-homes"
QUARTER_START = date(2026, 4, 1)
QUARTER_END = date(2026, 6, 30)


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


@dataclass
class History:
    envelopes: list[Envelope] = field(default_factory=list)

    def add(self, organisation: str, day: date, data: EventData, hour: int = 10) -> None:
        number = len(self.envelopes)
        self.envelopes.append(
            make_event(
                data,
                source="tests/outcomes",
                organisation=organisation,
                event_id=stable_id("quarter", str(number)),
                time=at(day, hour),
            )
        )

    def supported_case(
        self,
        organisation: str,
        case_id: str,
        person_id: str,
        *,
        referred: date,
        allocated: date | None,
        team: str,
        worker: str,
        needs: tuple[SupportNeed, ...] = (SupportNeed.BUDGETING_DEBT,),
        tenancy_id: str | None = None,
        first_contact: date | None = None,
        plan_agreed: date | None = None,
        stage_changes: tuple[tuple[date, Stage, Stage], ...] = (),
        reviews: tuple[tuple[str, date, date | None], ...] = (),
        escalated: date | None = None,
        closed: tuple[date, ClosureReason, TenancyOutcome] | None = None,
        route: Route = Route.SUPPORT,
    ) -> None:
        referrer = Referrer(organisation=organisation, source="housing_options")
        self.add(
            organisation,
            referred,
            ReferralReceived(
                case_id=case_id,
                person_id=person_id,
                referrer=referrer,
                received_at=at(referred, 9),
                support_needs=list(needs),
                tenancy_id=tenancy_id,
            ),
            9,
        )
        self.add(
            organisation,
            referred,
            ReferralAssessed(
                case_id=case_id,
                person_id=person_id,
                route=route,
                reasons=["needs support"],
                referrer=referrer,
                received_at=at(referred, 9),
                support_needs=list(needs),
                tenancy_id=tenancy_id,
            ),
            9,
        )
        if allocated is None:
            return  # waiting
        self.add(
            organisation,
            allocated,
            CaseAllocated(
                case_id=case_id,
                person_id=person_id,
                route=route,
                lead_worker_id=worker,
                team_id=team,
                team_leader_id=f"{team}-leader",
                target_hours_per_week=2.0,
                allocated_at=at(allocated),
                support_needs=list(needs),
                tenancy_id=tenancy_id,
            ),
        )
        if first_contact:
            self.add(
                organisation,
                first_contact,
                ContactLogged(
                    case_id=case_id,
                    contact_id=f"{case_id}-contact-1",
                    contact_on=first_contact,
                    channel="home_visit",
                    duration_minutes=60,
                    first=True,
                ),
                11,
            )
        if plan_agreed:
            self.add(
                organisation,
                plan_agreed,
                SupportPlanAgreed(
                    case_id=case_id,
                    plan_id=f"{case_id}-plan",
                    stage=Stage.STAGE_1,
                    goal_domains=["money"],
                    agreed_on=plan_agreed,
                ),
                12,
            )
        for changed_on, previous, stage in stage_changes:
            self.add(
                organisation,
                changed_on,
                StageChanged(
                    case_id=case_id,
                    previous_stage=previous,
                    stage=stage,
                    target_hours_per_week=1.0,
                    changed_on=changed_on,
                ),
                13,
            )
        for number, (point, due_on, done_on) in enumerate(reviews):
            review_id = f"{case_id}-review-{number}"
            self.add(
                organisation,
                due_on,
                ReviewDue(
                    case_id=case_id,
                    review_id=review_id,
                    review_point=point,
                    due_on=due_on,
                    notice="due",
                    lead_worker_id=worker,
                ),
                8,
            )
            if done_on:
                self.add(
                    organisation,
                    done_on,
                    ReviewCompleted(
                        case_id=case_id,
                        review_id=review_id,
                        review_point=point,
                        due_on=due_on,
                        completed_on=done_on,
                        decision="continue",
                    ),
                    14,
                )
        if escalated:
            self.add(
                organisation,
                escalated,
                CaseEscalated(
                    case_id=case_id,
                    risk_level=RiskLevel.CRITICAL,
                    reasons=["possession order"],
                    tenancy_id=tenancy_id,
                ),
                15,
            )
        if closed:
            closed_on, reason, outcome = closed
            self.add(
                organisation,
                closed_on,
                CaseClosed(
                    case_id=case_id,
                    person_id=person_id,
                    route=route,
                    reason=reason,
                    tenancy_outcome=outcome,
                    closed_at=at(closed_on, 16),
                    lead_worker_id=worker,
                    tenancy_id=tenancy_id,
                ),
                16,
            )

    def arrears(
        self, tenancy_id: str, day: date, balance: float, case_ids: tuple[str, ...]
    ) -> None:
        self.add(
            LANDLORD,
            day,
            TenancyArrearsReported(
                tenancy_id=tenancy_id,
                landlord=LANDLORD,
                alert_id=f"{tenancy_id}-{day.isoformat()}",
                reported_on=day,
                arrears_balance=balance,
                weekly_rent=100.0,
                case_ids=list(case_ids),
            ),
            7,
        )

    def at_risk(self, tenancy_id: str, day: date, balance: float, case_id: str | None) -> None:
        self.add(
            LANDLORD,
            day,
            TenancyAtRisk(
                tenancy_id=tenancy_id,
                landlord=LANDLORD,
                alert_id=f"{tenancy_id}-risk-{day.isoformat()}",
                risk_level=RiskLevel.CRITICAL,
                reasons=["possession order"],
                arrears_balance=balance,
                legal_stage=LegalStage.POSSESSION_ORDER,
                case_id=case_id,
            ),
            7,
        )

    def ended(
        self, tenancy_id: str, day: date, reason: TenancyEndReason, case_ids: tuple[str, ...]
    ) -> None:
        self.add(
            LANDLORD,
            day,
            TenancyEnded(
                tenancy_id=tenancy_id,
                landlord=LANDLORD,
                alert_id=f"{tenancy_id}-end",
                ended_on=day,
                reason=reason,
                case_ids=list(case_ids),
            ),
            7,
        )

    def capacity(self, organisation: str, worker: str, team: str, day: date, hours: float) -> None:
        self.add(
            organisation,
            day,
            CaseworkerCapacityChanged(
                caseworker_id=worker, team_id=team, hours_per_week=hours, changed_at=at(day, 8)
            ),
            8,
        )

    def reconnection(
        self,
        organisation: str,
        case_id: str,
        *,
        reconnected: date,
        destination: str,
        followed_up: date | None,
        held: bool,
        themes: tuple[LearningTheme, ...] = (),
    ) -> None:
        self.add(
            organisation,
            reconnected,
            ReconnectionPhaseChanged(
                case_id=case_id,
                previous_phase="plan",
                phase="reconnection",
                changed_on=reconnected,
                destination_area=destination,
            ),
            12,
        )
        if followed_up:
            self.add(
                organisation,
                followed_up,
                ReconnectionFollowedUp(
                    case_id=case_id,
                    destination_area=destination,
                    reconnected_on=reconnected,
                    followed_up_on=followed_up,
                    still_in_accommodation=held,
                    engaged=held,
                ),
                12,
            )
        if themes:
            self.add(
                organisation,
                followed_up or reconnected,
                LearningPointsRecorded(
                    entry_id=f"{case_id}-learning",
                    case_id=case_id,
                    recorded_on=followed_up or reconnected,
                    points=len(themes),
                    themes=list(themes),
                ),
                13,
            )
