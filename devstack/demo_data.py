"""The demo's people and organisations: two councils, one housing association (Derby Homes),
their teams and caseworkers, a handful of referrals, an arrears batch and a rough sleeper to
reconnect. Names and numbers are invented."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

# The demo's organisations; their people sign in through the demo realm
# (devstack/resources/keycloak/hearth-realm.json: `<organisation>.<role>`, password below).
COUNCIL_KEY = "derby-council"
OTHER_COUNCIL_KEY = "leeds-council"
LANDLORD_KEY = "derby-homes"
DEMO_PASSWORD = "hearth-demo"
ARREARS_FEED = ("derby-homes-arrears-feed", "derby-homes-arrears-feed-demo-secret")

TEAMS: dict[str, list[dict[str, Any]]] = {
    COUNCIL_KEY: [
        {
            "id": "derby-tenancy-support",
            "name": "Tenancy Support (Derby)",
            "team_leader": {"id": "abi", "name": "Abi Davies", "email": "abi@derby.demo"},
        },
        {
            "id": "derby-outreach",
            "name": "Outreach and Reconnection (Derby)",
            "team_leader": {"id": "raj", "name": "Raj Patel", "email": "raj@derby.demo"},
        },
    ],
    OTHER_COUNCIL_KEY: [
        {
            "id": "leeds-prevention",
            "name": "Prevention (Leeds)",
            "team_leader": {"id": "kim", "name": "Kim Ellis", "email": "kim@leeds.demo"},
        }
    ],
}

CASEWORKERS: dict[str, list[dict[str, Any]]] = {
    COUNCIL_KEY: [
        {
            "id": "jo",
            "team_id": "derby-tenancy-support",
            "name": "Jo Brennan",
            "email": "jo@derby.demo",
            "specialisms": ["generalist", "mental_health"],
            "contracted_hours": 30,
            "max_caseload": 12,
        },
        {
            "id": "sam",
            "team_id": "derby-tenancy-support",
            "name": "Sam Okoro",
            "email": "sam@derby.demo",
            "specialisms": ["generalist", "substance_misuse", "young_people"],
            "contracted_hours": 22.5,
            "max_caseload": 9,
        },
        {
            "id": "lee",
            "team_id": "derby-outreach",
            "name": "Lee Marsh",
            "email": "lee@derby.demo",
            "specialisms": ["reconnection", "substance_misuse"],
            "contracted_hours": 30,
            "max_caseload": 8,
        },
    ],
    OTHER_COUNCIL_KEY: [
        {
            "id": "ash",
            "team_id": "leeds-prevention",
            "name": "Ash Green",
            "email": "ash@leeds.demo",
            "specialisms": ["generalist"],
            "contracted_hours": 30,
            "max_caseload": 12,
        }
    ],
}

# Derby Homes' prevention referrals go to the council's tenancy support team.
RISK_RULES: dict[str, dict[str, Any]] = {LANDLORD_KEY: {"prevention_organisation": "derby-council"}}

# The data-sharing agreements the demo's cross-organisation flows need (issue 15): proposed by
# the first organisation's admin, accepted by the second's, through the agreements service.
# External referrers (probation, children's services, outreach) are not organisations on the
# platform: the council refers on their behalf, naming the contact (referrer.agency, one email),
# and the referral's notices go to that contact, never to a mailbox the body chose by name.
AGREEMENTS: list[dict[str, Any]] = [
    {
        "proposed_by": LANDLORD_KEY,
        "counterparty": COUNCIL_KEY,
        "purpose": "arrears-prevention",
        "categories": ["identity", "contact", "tenancy", "arrears"],
        "note": "Derby Homes' tenancies at risk raise prevention referrals in the council",
    },
    {
        "proposed_by": LANDLORD_KEY,
        "counterparty": COUNCIL_KEY,
        "purpose": "tenancy-data",
        "categories": ["tenancy", "arrears"],
        "note": "arrears, legal stage and eviction date reach the council's cases",
    },
    {
        "proposed_by": LANDLORD_KEY,
        "counterparty": COUNCIL_KEY,
        "purpose": "referral-status",
        "categories": ["case-status"],
        "note": "what became of Derby Homes' prevention referrals",
    },
    {
        "proposed_by": COUNCIL_KEY,
        "counterparty": LANDLORD_KEY,
        "purpose": "partner-notices",
        "categories": ["case-status", "tenancy", "contact"],
        "note": "notices to the landlord about its tenants' cases",
    },
    {
        "proposed_by": LANDLORD_KEY,
        "counterparty": COUNCIL_KEY,
        "purpose": "person-matching",
        "categories": ["identity"],
        "note": "recognising a tenant the council already supports",
    },
    {
        "proposed_by": COUNCIL_KEY,
        "counterparty": OTHER_COUNCIL_KEY,
        "purpose": "reconnection-handover",
        "categories": ["identity", "contact", "support-needs", "health", "case-status"],
        "note": "reconnecting rough sleepers with a local connection to Leeds",
    },
    {
        "proposed_by": COUNCIL_KEY,
        "counterparty": OTHER_COUNCIL_KEY,
        "purpose": "referral-status",
        "categories": ["case-status"],
        "note": "status of reconnection referrals back to the referring council",
    },
    {
        "proposed_by": COUNCIL_KEY,
        "counterparty": OTHER_COUNCIL_KEY,
        "purpose": "person-matching",
        "categories": ["identity"],
        "note": "recognising a person reconnected between the councils",
    },
]

NOTIFICATION_SETTINGS: dict[str, dict[str, Any]] = {
    COUNCIL_KEY: {
        "display_name": "Derby City Council",
        "notice_email": "housing-options@derby.demo",
        "local_support": "Derby Advice, 1 Market Place, 01332 000000",
        "crisis_support": "Out of hours housing line 01332 111111",
    },
    LANDLORD_KEY: {
        "display_name": "Derby Homes",
        "notice_email": "income-team@derbyhomes.demo",
        "housing_officer_email": "housing-officers@derbyhomes.demo",
    },
}


def _person(given: str, family: str, born: str, ni: str | None = None) -> dict[str, Any]:
    person: dict[str, Any] = {
        "given_name": given,
        "family_name": family,
        "date_of_birth": born,
        "household": [],
    }
    if ni:
        person["ni_number"] = ni
    return person


def referral(
    given: str,
    family: str,
    born: str,
    needs: list[str],
    *,
    source: str = "housing_officer",
    organisation: str = COUNCIL_KEY,
    agency: str | None = None,
    tenancy_reference: str | None = None,
    legal_stage: str = "none",
    days_to_homeless: int | None = None,
    email: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": source,
        # The referrer's organisation is the caller's own; an outside agency is a named contact.
        "referrer": {
            "organisation": organisation,
            "source": source,
            "name": "Referring officer",
            "email": f"referrals@{agency or organisation}.demo",
            **({"agency": agency} if agency else {}),
        },
        "person": _person(given, family, born),
        "contact": {
            "mobile": "07700900123",
            "email": email,
            "postal_address": ["1 Demo Street", "Derby", "DE1 1AA"],
            "preferred_channels": ["email", "letter"] if email else ["sms", "letter"],
        },
        "consent": {
            "to_record": True,
            "to_share": True,
            "share_with": ["derby-homes"],
            "channels_allowed": ["email", "sms", "letter"],
        },
        "support_needs": needs,
        "urgency": {"legal_stage": legal_stage},
        "referring_area": "Derby",
        "recourse_to_public_funds": True,
        "id_held": ["passport"],
        **extra,
    }
    if days_to_homeless is not None:
        body["urgency"]["date_facing_homelessness"] = (
            date.today() + timedelta(days=days_to_homeless)
        ).isoformat()
    if tenancy_reference:
        body["tenancy"] = {
            "landlord_organisation": "derby-homes",
            "tenancy_reference": tenancy_reference,
        }
    return body


REFERRALS: dict[str, list[dict[str, Any]]] = {
    COUNCIL_KEY: [
        referral(
            "Alex",
            "Morgan",
            "1984-03-02",
            ["mental_health", "budgeting_debt"],
            tenancy_reference="DH-100231",
            legal_stage="notice_served",
            days_to_homeless=50,
            email="alex.morgan@mail.demo",
        ),
        referral(
            "Chris",
            "Taylor",
            "1991-07-19",
            ["drug_dependency", "benefits"],
            source="probation",
            agency="probation-east-midlands",
            days_to_homeless=20,
        ),
        referral(
            "Dee",
            "Walsh",
            "2006-01-11",
            ["care_leaver_18_20", "budgeting_debt"],
            source="childrens_services",
            agency="derby-childrens-services",
            tenancy_reference="DH-100877",
        ),
        # A rough sleeper with a local connection to Leeds: routed to reconnection.
        referral(
            "Pat",
            "Byrne",
            "1978-10-30",
            ["alcohol_dependency", "mental_health"],
            source="outreach_team",
            agency="derby-outreach",
            local_connections=[{"area": "Leeds", "evidence": ["lived there 2019-2024"]}],
            rough_sleeping={
                "contacts": 9,
                "period_start": (date.today() - timedelta(days=40)).isoformat(),
                "period_end": date.today().isoformat(),
            },
        ),
    ],
    OTHER_COUNCIL_KEY: [
        referral(
            "Jordan",
            "Price",
            "1988-05-05",
            ["budgeting_debt", "benefits"],
            organisation=OTHER_COUNCIL_KEY,
            days_to_homeless=35,
        ),
    ],
}


def arrears_csv(rows: int = 24) -> bytes:
    """Derby Homes' nightly batch: most tenancies fine, some at risk, one with an open case."""
    lines = [
        "tenancy_reference,arrears_balance,weekly_rent,weeks_in_arrears,trend,"
        "last_payment_date,legal_stage,notice_served_date,eviction_date,asb_issues"
    ]
    eviction = (date.today() + timedelta(days=21)).isoformat()
    notice = (date.today() - timedelta(days=30)).isoformat()
    paid = (date.today() - timedelta(days=45)).isoformat()
    recent = (date.today() - timedelta(days=5)).isoformat()
    for i in range(rows):
        reference = "DH-100231" if i == 0 else f"DH-2{i:05d}"
        if i % 6 == 0:
            lines.append(
                f"{reference},1480.50,105.00,14,worsening,{paid},notice_served,{notice},,no"
            )
        elif i % 6 == 1:
            lines.append(
                f"{reference},2210.00,98.00,22,worsening,{paid},eviction_date_set,"
                f"{notice},{eviction},yes"
            )
        else:
            lines.append(f"{reference},{20 + i}.00,100.00,0.2,stable,{recent},none,,,no")
    lines.append("DH-BAD-ROW,not-a-number,100.00,1,stable,,none,,,no")  # reported, not fatal
    return ("\n".join(lines) + "\n").encode()
