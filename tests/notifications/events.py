"""Input events as the other services publish them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from shared.codes import ClosureReason, RiskLevel, Route
from shared.events.catalogue import (
    CaseAllocated,
    CaseClosed,
    ContactDetailsShared,
    ReferralReceived,
    Referrer,
    ReviewDue,
    TenancyAtRisk,
)
from shared.events.envelope import Envelope, make_event

ORG = "derby-council"
AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def contacts(case_id: str, person_id: str = "p-1", **values: Any) -> Envelope:
    data = ContactDetailsShared(
        person_id=person_id,
        case_id=case_id,
        display_name=values.pop("display_name", "Sam Client"),
        **values,
    )
    return make_event(data, source="hearth/referral", organisation=ORG)


def referral(case_id: str, person_id: str = "p-1") -> Envelope:
    data = ReferralReceived(
        case_id=case_id,
        person_id=person_id,
        referrer=Referrer(
            organisation="leeds-council",
            source="outreach_team",
            name="Ola Outreach",
            email="outreach@leeds.example",
            reference="OUT-77",
        ),
        received_at=AT,
    )
    return make_event(data, source="hearth/referral", organisation=ORG)


def allocated(case_id: str, person_id: str = "p-1", **values: Any) -> Envelope:
    data = CaseAllocated(
        case_id=case_id,
        person_id=person_id,
        route=Route.SUPPORT,
        lead_worker_id="w-1",
        team_id="team-1",
        team_leader_id="tl-1",
        target_hours_per_week=2.0,
        allocated_at=AT,
        lead_worker_email="casey.worker@derby.example",
        team_leader_email="terry.leader@derby.example",
        **values,
    )
    return make_event(data, source="hearth/allocation", organisation=ORG)


def at_risk(case_id: str | None, tenancy: str = "derby-homes:T-100") -> Envelope:
    data = TenancyAtRisk(
        tenancy_id=tenancy,
        landlord="derby-homes",
        alert_id="a-1",
        risk_level=RiskLevel.HIGH,
        reasons=["arrears_8_weeks", "notice_served"],
        arrears_balance=1234.5,
        case_id=case_id,
    )
    return make_event(data, source="hearth/referral", organisation="derby-homes")


def review_due(case_id: str, notice: str = "reminder") -> Envelope:
    data = ReviewDue(
        case_id=case_id,
        review_id="r-1",
        review_point="stage_1_week_12",
        due_on=date(2026, 3, 30),
        notice=notice,
    )
    return make_event(data, source="hearth/support", organisation=ORG)


def closed(case_id: str, person_id: str = "p-1", involved: list[str] | None = None) -> Envelope:
    data = CaseClosed(
        case_id=case_id,
        person_id=person_id,
        route=Route.RECONNECTION,
        reason=ClosureReason.RECONNECTED,
        closed_at=AT,
        involved_organisations=involved or [],
    )
    return make_event(data, source="hearth/reconnection", organisation=ORG)
