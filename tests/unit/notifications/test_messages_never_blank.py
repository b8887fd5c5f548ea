"""No message goes with an empty placeholder (issue 20): the screening email read "Your
referral  has been screened." for a referral that came without the referrer's reference."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.notifications.consent import ClientContact
from services.notifications.routing import (
    CaseFacts,
    PlannedDelivery,
    RoutingInput,
    personalisation,
)
from services.notifications.routing_rules import ROUTED_EVENT_TYPES, RULES, Rule
from services.notifications.templates import (
    DEFAULT_TEMPLATES,
    TENANCY_REFERENCE,
    EmptyPlaceholder,
    render,
)
from shared.codes import ClosureReason, RiskLevel, Route
from shared.events.base import EventData
from shared.events.catalogue import (
    CaseAllocated,
    CaseClosed,
    CaseEscalated,
    CaseReallocated,
    ReferralAssessed,
    ReferralReceived,
    ReviewDue,
    TenancyAtRisk,
)
from shared.events.referral_events import Referrer

AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
# A referrer who gave no reference of their own: what the demo's screening email went to.
REFERRER = Referrer(organisation="leeds-council", source="outreach_team")
# Each routed event with only the fields it must carry: every optional one left out.
SPARSE: dict[str, EventData] = {
    "ReferralReceived": ReferralReceived(
        case_id="case-1", person_id="p-1", referrer=REFERRER, received_at=AT
    ),
    "ReferralAssessed": ReferralAssessed(
        case_id="case-1",
        person_id="p-1",
        route=Route.SUPPORT,
        reasons=[],
        referrer=REFERRER,
        received_at=AT,
    ),
    "CaseAllocated": CaseAllocated(
        case_id="case-1",
        person_id="p-1",
        route=Route.SUPPORT,
        lead_worker_id="w-1",
        team_id="team-1",
        team_leader_id="tl-1",
        target_hours_per_week=2.0,
        allocated_at=AT,
    ),
    "CaseReallocated": CaseReallocated(
        case_id="case-1",
        previous_worker_id="w-1",
        lead_worker_id="w-2",
        team_leader_id="tl-1",
        reason="cover",
    ),
    "TenancyAtRisk": TenancyAtRisk(
        tenancy_id="derby-homes:t-1",
        landlord="derby-homes",
        alert_id="a-1",
        risk_level=RiskLevel.HIGH,
        reasons=[],
        arrears_balance=0.0,
    ),
    "CaseEscalated": CaseEscalated(case_id="case-1", risk_level=RiskLevel.HIGH, reasons=[]),
    "ReviewDue": ReviewDue(
        case_id="case-1",
        review_id="r-1",
        review_point="stage_1_week_12",
        due_on=date(2026, 3, 30),
        notice="reminder",
    ),
    "CaseClosed": CaseClosed(
        case_id="case-1",
        person_id="p-1",
        route=Route.SUPPORT,
        reason=ClosureReason.PLAN_ACHIEVED,
        closed_at=AT,
    ),
}
CASE = CaseFacts(case_id="case-1", organisation="derby-council")  # no worker known yet
CLIENT = ClientContact(person_id="p-1", case_id="case-1", display_name="Sam Client")


def sparse_values(rule: Rule, personal: bool) -> dict[str, str]:
    event = SPARSE[rule.event_type]
    fields = event.model_dump(mode="json")
    if rule.event_type == "ReviewDue":
        fields["notice"] = rule.when.get("notice", "reminder")
    inp = RoutingInput(rule.event_type, "derby-council", fields, CASE, CLIENT)
    planned = PlannedDelivery(
        recipient_role=rule.recipient,
        recipient_key=str(rule.recipient),
        recipient_org="derby-council",
        channel=rule.channels[0],
        address="someone@example.org",
        template=rule.template,
        personal=personal,
    )
    values = personalisation(inp, planned)
    values[TENANCY_REFERENCE] = "T-100"  # the handler looks it up (the tenancy id at worst)
    return values


def test_every_routed_event_type_has_a_sparse_example() -> None:
    assert set(SPARSE) == ROUTED_EVENT_TYPES


@pytest.mark.parametrize("personal", [True, False], ids=["personal", "withheld"])
@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.event_type}-{r.recipient}")
def test_every_default_template_renders_without_a_blank(rule: Rule, personal: bool) -> None:
    """Every rule's default template, filled from an event carrying only its required fields,
    renders with a value in every placeholder (render refuses an empty one)."""
    template = DEFAULT_TEMPLATES[rule.template]
    values = sparse_values(rule, personal)
    for text in (render(template.subject, values), render(template.body, values)):
        for line in text.splitlines():
            assert "  " not in line and ": ." not in line and "()" not in line, line


def test_the_screening_email_names_the_referral_with_or_without_a_reference() -> None:
    """Issue 20: 'the screening email reads "Your referral  has been screened." with an empty
    placeholder'."""
    rule = next(r for r in RULES if r.template == "referral_status")
    template = DEFAULT_TEMPLATES["referral_status"]
    without = render(template.body, sparse_values(rule, personal=False))
    assert "Your referral  has been screened." not in without
    assert without.startswith("Your referral (your reference: none given) has been screened.")
    assert "Reasons: none recorded" in without

    given = ReferralAssessed(
        **{
            **SPARSE["ReferralAssessed"].model_dump(),
            "referrer": Referrer(
                organisation="leeds-council", source="outreach_team", reference="OUT-77"
            ),
            "reasons": ["at_risk_of_eviction"],
        }
    )
    inp = RoutingInput("ReferralAssessed", "derby-council", given.model_dump(mode="json"), CASE)
    planned = PlannedDelivery(
        recipient_role=rule.recipient,
        recipient_key="referrer",
        recipient_org="leeds-council",
        channel=rule.channels[0],
        address="ref@leeds.example",
        template=rule.template,
    )
    body = render(template.body, personalisation(inp, planned))
    assert body.startswith("Your referral (your reference: OUT-77) has been screened.")
    assert "Reasons: at_risk_of_eviction" in body


@pytest.mark.parametrize("values", [{}, {"name": ""}, {"name": "   "}])
def test_render_refuses_a_placeholder_with_no_value(values: dict[str, str]) -> None:
    with pytest.raises(EmptyPlaceholder) as refused:
        render("Your referral ((name)) has been screened.", values)
    assert refused.value.name == "name"
    assert str(refused.value) == "template: ((name)) has no value"


def test_render_fills_every_placeholder() -> None:
    assert render("Hi ((name)), (( name ))!", {"name": "Sam"}) == "Hi Sam, Sam!"
