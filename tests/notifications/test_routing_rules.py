"""The routing rules, table-driven from flow 6 and the seeds (Tool 4 steps 7-8, safety net)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.notifications.consent import (
    NO_ADDRESS,
    NO_CONSENT,
    NO_RECIPIENT,
    ClientContact,
)
from services.notifications.routing import (
    WITHHELD,
    CaseFacts,
    OrgSettings,
    PlannedDelivery,
    RoutingInput,
    personalisation,
    plan,
)
from services.notifications.routing_rules import RULES, Role, rules_for
from shared.agreements import Agreement, AgreementStatus, DataCategory, Purpose

CASE = CaseFacts(
    case_id="case-1",
    organisation="derby-council",
    person_id="p-1",
    lead_worker_email="cw@derby.example",
    team_leader_email="tl@derby.example",
    referrer_organisation="outreach",
    referrer_email="ref@outreach.example",
    tenancy_id="derby-homes:T-9",
)
CLIENT = ClientContact(
    person_id="p-1",
    case_id="case-1",
    display_name="Sam Client",
    email="sam@example.org",
    mobile="07700900123",
    postal_address=("1 High Street", "Derby", "DE1 1AA"),
    preferred_channels=("sms", "email"),
    consented_channels=("email", "sms", "letter"),
)
REFERRER = {"organisation": "outreach", "source": "outreach_team", "email": "ref@outreach.example"}


def summary(planned: list[PlannedDelivery]) -> set[tuple[str, str | None, str, str | None]]:
    return {(p.recipient_key, p.channel, p.template, p.suppressed_reason) for p in planned}


NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PARTNERS = ("outreach", "derby-homes", "probation", "hospital", "leeds-council")


def live_agreements(case_org: str = "derby-council") -> tuple[Agreement, ...]:
    """Referral-status and partner-notices agreements between the case's organisation and
    every partner these tests name: the cross-organisation notices may go."""
    return tuple(
        Agreement(
            agreement_id=f"agr-{purpose}-{partner}",
            proposed_by=case_org,
            counterparty=partner,
            purpose=purpose,
            categories=frozenset(DataCategory),
            starts=datetime(2020, 1, 1, tzinfo=UTC),
            status=AgreementStatus.ACTIVE,
        )
        for partner in PARTNERS
        for purpose in (Purpose.REFERRAL_STATUS, Purpose.PARTNER_NOTICES)
    )


def routed(event_type: str, fields: dict[str, Any], **kwargs: Any) -> set[Any]:
    kwargs.setdefault("agreements", live_agreements())
    kwargs.setdefault("at", NOW)
    return summary(plan(RoutingInput(event_type, "derby-council", fields, **kwargs)))


CASES = [
    (
        "referral acknowledged to the referrer",
        "ReferralReceived",
        {"case_id": "case-1", "referrer": REFERRER},
        {},
        {("referrer", "email", "referral_acknowledgement", None)},
    ),
    (
        "automatic referral with no referrer mailbox is recorded, not sent",
        "ReferralReceived",
        {"case_id": "case-1", "referrer": {"organisation": "derby-homes", "source": "arrears"}},
        {},
        {("referrer", None, "referral_acknowledgement", NO_ADDRESS)},
    ),
    (
        "screening outcome to the referrer",
        "ReferralAssessed",
        {"case_id": "case-1", "referrer": REFERRER, "route": "support"},
        {"case": CASE},
        {("referrer", "email", "referral_status", None)},
    ),
    (
        "allocation: client by preferred consented channel, both workers by email",
        "CaseAllocated",
        {"case_id": "case-1"},
        {"case": CASE, "client": CLIENT},
        {
            ("client", "sms", "client_introduction", None),
            ("caseworker", "email", "caseworker_allocation", None),
            ("team_leader", "email", "team_leader_allocation", None),
        },
    ),
    (
        "allocation: no contact details shared means no consent",
        "CaseAllocated",
        {"case_id": "case-1"},
        {"case": CASE},
        {
            ("client", None, "client_introduction", NO_CONSENT),
            ("caseworker", "email", "caseworker_allocation", None),
            ("team_leader", "email", "team_leader_allocation", None),
        },
    ),
    (
        "tenancy at risk with no open case: nothing here (a prevention referral follows)",
        "TenancyAtRisk",
        {"tenancy_id": "derby-homes:T-9", "landlord": "derby-homes"},
        {},
        set(),
    ),
    (
        "tenancy at risk: urgent alerts; no partner-notices agreement, no housing officer",
        "TenancyAtRisk",
        {"tenancy_id": "derby-homes:T-9", "landlord": "derby-homes", "case_id": "case-1"},
        {"case": CASE, "agreements": ()},
        {
            ("caseworker", "email", "urgent_tenancy_alert", None),
            ("team_leader", "email", "urgent_tenancy_alert", None),
            (
                "housing_officer",
                None,
                "housing_officer_alert",
                "held: no live partner-notices agreement between derby-council and derby-homes",
            ),
        },
    ),
    (
        "tenancy at risk under a partner-notices agreement: housing officer by email and webhook",
        "TenancyAtRisk",
        {"tenancy_id": "derby-homes:T-9", "landlord": "derby-homes", "case_id": "case-1"},
        {
            "case": CASE,
            "settings": {
                "derby-council": OrgSettings("derby-council"),
                "derby-homes": OrgSettings(
                    "derby-homes",
                    housing_officer_email="ho@derbyhomes.example",
                    webhook_url="https://partner.example/hook",
                ),
            },
        },
        {
            ("caseworker", "email", "urgent_tenancy_alert", None),
            ("team_leader", "email", "urgent_tenancy_alert", None),
            ("housing_officer", "email", "housing_officer_alert", None),
            ("housing_officer", "webhook", "housing_officer_alert", None),
        },
    ),
    (
        "escalation: landlord found from the tenancy id, agreement but no mailbox",
        "CaseEscalated",
        {"case_id": "case-1", "tenancy_id": "derby-homes:T-9"},
        {
            "case": CASE,
            "settings": {"derby-council": OrgSettings("derby-council")},
        },
        {
            ("caseworker", "email", "urgent_escalation_alert", None),
            ("team_leader", "email", "urgent_escalation_alert", None),
            ("housing_officer", None, "housing_officer_alert", NO_ADDRESS),
        },
    ),
    (
        "escalation of a case never allocated here: recorded, nobody to tell",
        "CaseEscalated",
        {"case_id": "case-1"},
        {},
        {
            ("caseworker", None, "urgent_escalation_alert", NO_RECIPIENT),
            ("team_leader", None, "urgent_escalation_alert", NO_RECIPIENT),
        },
    ),
    (
        "review reminder ahead",
        "ReviewDue",
        {"case_id": "case-1", "notice": "reminder"},
        {"case": CASE},
        {("caseworker", "email", "review_reminder", None)},
    ),
    (
        "review due on the day",
        "ReviewDue",
        {"case_id": "case-1", "notice": "due"},
        {"case": CASE},
        {("caseworker", "email", "review_due", None)},
    ),
    (
        "closure: letter to the client (by email, as they prefer), every agency told",
        "CaseClosed",
        {
            "case_id": "case-1",
            "involved_organisations": ["derby-council", "outreach", "probation", "hospital"],
        },
        {
            "case": CASE,
            "client": CLIENT,
            "settings": {
                "probation": OrgSettings(
                    "probation",
                    notice_email="notices@probation.example",
                    webhook_url="https://probation.example/hook",
                )
            },
        },
        {
            ("client", "email", "closure_letter", None),
            ("referrer", "email", "agency_closure_notice", None),
            ("agency:probation", "email", "agency_closure_notice", None),
            ("agency:probation", "webhook", "agency_closure_notice", None),
            ("agency:hospital", None, "agency_closure_notice", NO_ADDRESS),
        },
    ),
    (
        "closure: with no stated preference the closure letter goes by post",
        "CaseClosed",
        {"case_id": "case-1"},
        {"case": CASE, "client": ClientContact(**{**CLIENT.__dict__, "preferred_channels": ()})},
        {
            ("client", "letter", "closure_letter", None),
            ("referrer", "email", "agency_closure_notice", None),
        },
    ),
]


@pytest.mark.parametrize(
    ("event_type", "fields", "context", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_routing(event_type: str, fields: dict, context: dict, expected: set) -> None:
    assert routed(event_type, fields, **context) == expected


def test_every_rule_names_a_default_template() -> None:
    from services.notifications.templates import DEFAULT_TEMPLATES

    assert {rule.template for rule in RULES} <= set(DEFAULT_TEMPLATES)


def test_rules_match_on_field_values() -> None:
    assert [r.template for r in rules_for("ReviewDue", {"notice": "due"})] == ["review_due"]
    assert rules_for("ReviewDue", {"notice": "other"}) == []
    assert rules_for("SupportPlanAgreed", {}) == []


@pytest.mark.parametrize(
    ("recipient_org", "share_with", "expected_name"),
    [
        ("probation", (), WITHHELD),  # no consent to share with probation
        ("probation", ("probation",), "Sam Client"),  # the person agreed
        ("derby-council", (), "Sam Client"),  # the case's own organisation
    ],
)
def test_personal_details_follow_sharing_rules(
    recipient_org: str, share_with: tuple[str, ...], expected_name: str
) -> None:
    client = ClientContact(**{**CLIENT.__dict__, "share_with": share_with})
    inp = RoutingInput(
        "CaseClosed",
        "derby-council",
        {
            "case_id": "case-1",
            "involved_organisations": [recipient_org],
            "closed_at": "2026-03-02T10:00:00Z",
        },
        CASE,
        client,
        {recipient_org: OrgSettings(recipient_org, notice_email="n@x.example")},
    )
    notices = [p for p in plan(inp) if p.recipient_role in (Role.AGENCY,)]
    if recipient_org == "derby-council":
        assert notices == []  # the case's own organisation is not an outside agency
        notice = next(p for p in plan(inp) if p.recipient_role is Role.CLIENT)
    else:
        (notice,) = notices
    values = personalisation(inp, notice)
    assert values["client_name"] == expected_name
    assert values["closed_on"] == "02 March 2026"


def test_client_personalisation_carries_address_and_crisis_route() -> None:
    inp = RoutingInput("CaseClosed", "derby-council", {"case_id": "case-1"}, CASE, CLIENT)
    client = next(p for p in plan(inp) if p.recipient_role is Role.CLIENT)
    values = personalisation(inp, client)
    assert values["address_line_1"] == "1 High Street"
    assert "0808 800 4444" in values["crisis_support"]
    assert values["caseworker_email"] == "cw@derby.example"


# --- issue 15: notices to other organisations only under a live agreement -------------------

HO_SETTINGS = {
    "derby-council": OrgSettings("derby-council"),
    "derby-homes": OrgSettings("derby-homes", housing_officer_email="ho@derbyhomes.example"),
}
RISK = {"tenancy_id": "derby-homes:T-9", "landlord": "derby-homes", "risk_level": "high"}


def test_a_housing_officer_is_told_only_under_a_live_partner_notices_agreement() -> None:
    held = "held: no live partner-notices agreement between derby-council and derby-homes"
    refused = routed("TenancyAtRisk", RISK, case=CASE, settings=HO_SETTINGS, agreements=())
    assert ("housing_officer", None, "housing_officer_alert", held) in refused
    assert not any(key == "housing_officer" and reason is None for key, _, _, reason in refused)
    allowed = routed("TenancyAtRisk", RISK, case=CASE, settings=HO_SETTINGS)
    assert ("housing_officer", "email", "housing_officer_alert", None) in allowed
    ended = tuple(
        a.model_copy(update={"ends": NOW, "status": AgreementStatus.ENDED})
        for a in live_agreements()
    )
    again = routed("TenancyAtRisk", RISK, case=CASE, settings=HO_SETTINGS, agreements=ended)
    assert ("housing_officer", None, "housing_officer_alert", held) in again


def test_the_referrer_hears_of_receipt_but_no_status_without_a_referral_status_agreement() -> None:
    fields = {"case_id": "case-1", "referrer": REFERRER, "route": "support"}
    received = routed("ReferralReceived", fields, case=CASE, agreements=())
    assert ("referrer", "email", "referral_acknowledgement", None) in received
    held = "held: no live referral-status agreement between derby-council and outreach"
    assessed = routed("ReferralAssessed", fields, case=CASE, agreements=())
    assert assessed == {("referrer", None, "referral_status", held)}
    assert ("referrer", "email", "referral_status", None) in routed(
        "ReferralAssessed", fields, case=CASE
    )


def test_agencies_are_told_of_a_closure_only_under_an_agreement() -> None:
    fields = {"case_id": "case-1", "involved_organisations": ["probation"], "reason": "x"}
    held = "held: no live partner-notices agreement between derby-council and probation"
    settings = {"probation": OrgSettings("probation", notice_email="n@probation.example")}
    refused = routed("CaseClosed", fields, case=CASE, settings=settings, agreements=())
    assert ("agency:probation", None, "agency_closure_notice", held) in refused
    allowed = routed("CaseClosed", fields, case=CASE, settings=settings)
    assert ("agency:probation", "email", "agency_closure_notice", None) in allowed


def test_without_agreements_read_every_notice_to_another_organisation_is_held() -> None:
    fields = {"case_id": "case-1", "referrer": REFERRER, "route": "support"}
    planned = plan(RoutingInput("ReferralAssessed", "derby-council", fields, CASE))
    assert [p.suppressed_reason for p in planned] == ["held: agreements not read"]
