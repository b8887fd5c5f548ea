"""Who may do what: the one policy of every Hearth HTTP route, as tables a reviewer can read.

Three tables, read top to bottom:

1. `ROLE_PERMISSIONS` - what each role may do, and how far it reaches (`Reach`): a caseworker
   and a team leader reach their own cases and their teams' cases; everyone else reaches their
   whole organisation. Nobody ever reaches another organisation.
2. `ROUTES` - for every route of every service: the permission it needs, the record it is
   about (checked against the caller's reach before the route runs: a record outside it is a
   404, exactly as if it did not exist), and whether it touches a person's record (audited).
3. The rules for records with no team yet (`Policy.unallocated`).
4. Which routes create (`Policy.creates`): every POST, so each takes an `Idempotency-Key`
   (`shared/idempotency.py`).

A route missing from `ROUTES` is refused (fail closed), and the test suite generates the
whole role x route matrix from these tables, so a new route without a policy fails CI.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum, StrEnum


class Role(StrEnum):
    CASEWORKER = "caseworker"
    TEAM_LEADER = "team-leader"
    SERVICE_MANAGER = "service-manager"
    INCOME_OFFICER = "income-officer"  # a housing association's: alerts and what they caused
    ORGANISATION_ADMIN = "organisation-admin"
    AUDITOR = "auditor"
    DATA_PROTECTION_OFFICER = "data-protection-officer"  # subject access, erasure, retention
    # Machine clients (client-credentials grant):
    ARREARS_FEED = "arrears-feed"  # a landlord's nightly arrears feed
    REFERRAL_PARTNER = "referral-partner"  # a partner agency's referral intake


class Permission(StrEnum):
    REFERRALS_CREATE = "referrals.create"
    REFERRALS_READ = "referrals.read"
    CASES_READ = "cases.read"
    CASEWORK = "casework"  # assessments, plans, contacts, reviews, closure
    CASE_DECISIONS = "cases.decide"  # reallocation, support past the limit, dismissals
    WAITING_LIST = "waiting-list.read"
    TEAMS_READ = "teams.read"
    TEAMS_MANAGE = "teams.manage"
    REPORTS = "reports.read"
    ARREARS_SUBMIT = "arrears.submit"
    ARREARS_READ = "arrears.read"  # batches, a tenancy's risk and what it caused
    DELIVERIES = "deliveries.read"  # the delivery log, letters, resending
    SETTINGS_READ = "settings.read"
    SETTINGS_MANAGE = "settings.manage"
    LEARNING = "learning-log"
    AUDIT_READ = "audit.read"
    AGREEMENTS_READ = "agreements.read"  # data-sharing agreements with other organisations
    AGREEMENTS_MANAGE = "agreements.manage"  # propose, accept, decline, end them
    PRIVACY_READ = "privacy.read"  # subject-access and erasure requests: their status, no data
    PRIVACY_REQUESTS = "privacy.requests"  # make them, and read a subject-access bundle
    RETENTION_MANAGE = "retention.manage"  # the organisation's retention schedule
    RETURNS_READ = "returns.read"  # the statutory returns (H-CLIC): case-level rows, errors


class Reach(IntEnum):
    """How far a permission reaches; with several roles the widest wins."""

    TEAM = 1  # records of the caller's teams, and records they lead themselves
    ORGANISATION = 2


P = Permission
_CASEWORK = {P.REFERRALS_CREATE, P.REFERRALS_READ, P.CASES_READ, P.CASEWORK, P.LEARNING}

ROLE_PERMISSIONS: dict[Role, tuple[Reach, frozenset[Permission]]] = {
    Role.CASEWORKER: (Reach.TEAM, frozenset(_CASEWORK)),
    Role.TEAM_LEADER: (
        Reach.TEAM,
        frozenset(_CASEWORK | {P.CASE_DECISIONS, P.WAITING_LIST, P.TEAMS_READ, P.REPORTS}),
    ),
    Role.SERVICE_MANAGER: (
        Reach.ORGANISATION,
        frozenset(
            _CASEWORK
            | {P.CASE_DECISIONS, P.WAITING_LIST, P.TEAMS_READ, P.TEAMS_MANAGE, P.REPORTS}
            | {P.ARREARS_READ, P.DELIVERIES, P.SETTINGS_READ, P.SETTINGS_MANAGE}
            | {P.AGREEMENTS_READ}
            | {P.RETURNS_READ}
        ),
    ),
    Role.INCOME_OFFICER: (
        Reach.ORGANISATION,
        frozenset({P.ARREARS_SUBMIT, P.ARREARS_READ}),
    ),
    Role.ORGANISATION_ADMIN: (
        Reach.ORGANISATION,
        frozenset(
            {P.TEAMS_READ, P.TEAMS_MANAGE, P.SETTINGS_READ, P.SETTINGS_MANAGE}
            | {P.AGREEMENTS_READ, P.AGREEMENTS_MANAGE, P.PRIVACY_READ, P.RETENTION_MANAGE}
        ),
    ),
    # Who shares what with whom is an audit question too (agreements hold no personal data).
    Role.AUDITOR: (
        Reach.ORGANISATION,
        # The statutory return too (issue 18): checked before the council submits it.
        frozenset({P.AUDIT_READ, P.AGREEMENTS_READ, P.PRIVACY_READ, P.RETURNS_READ}),
    ),
    # Answers the people whose data it is: everything held, erased when the law says so.
    Role.DATA_PROTECTION_OFFICER: (
        Reach.ORGANISATION,
        frozenset(
            {P.PRIVACY_READ, P.PRIVACY_REQUESTS, P.RETENTION_MANAGE}
            | {P.AUDIT_READ, P.AGREEMENTS_READ}
        ),
    ),
    Role.ARREARS_FEED: (Reach.ORGANISATION, frozenset({P.ARREARS_SUBMIT, P.ARREARS_READ})),
    Role.REFERRAL_PARTNER: (Reach.ORGANISATION, frozenset({P.REFERRALS_CREATE})),
}


@dataclass(frozen=True)
class Record:
    """The record a route is about: its kind and the path parameter naming it."""

    kind: str
    param: str


@dataclass(frozen=True)
class Policy:
    permission: Permission
    record: Record | None = None
    personal: bool = False  # reads or changes a person's record: always audited
    unallocated: bool = False  # records with no team yet: visible to those who allocate
    # Creates a record or has an effect a repeat would have again (a second contact, a second
    # spend) or answer differently (a second close is refused): takes an Idempotency-Key.
    creates: bool = False


def _p(
    permission: Permission,
    record: tuple[str, str] | None = None,
    *,
    personal: bool = True,
    unallocated: bool = False,
) -> Policy:
    return Policy(permission, Record(*record) if record else None, personal, unallocated)


CASE = ("case", "case_id")
REFERRAL = ("case", "referral_id")  # case id = referral id
RECONNECTION = ("case", "case_id")
AGREEMENT = ("agreement", "agreement_id")
SUBJECT_ACCESS = ("subject-access-request", "request_id")
ERASURE = ("erasure-request", "request_id")

ROUTES: dict[str, dict[tuple[str, str], Policy]] = {
    "referral": {
        ("POST", "/referrals"): _p(P.REFERRALS_CREATE),
        ("GET", "/referrals"): _p(P.REFERRALS_READ, unallocated=True),
        ("GET", "/referrals/{referral_id}"): _p(P.REFERRALS_READ, REFERRAL, unallocated=True),
        # The person's consent (issue 16): read like the referral, changed by casework.
        ("GET", "/referrals/{referral_id}/consent"): _p(
            P.REFERRALS_READ, REFERRAL, unallocated=True
        ),
        ("PUT", "/referrals/{referral_id}/consent"): _p(P.CASEWORK, REFERRAL, unallocated=True),
        ("POST", "/referrals/{referral_id}/consent/withdraw"): _p(
            P.CASEWORK, REFERRAL, unallocated=True
        ),
        # Finding people (a POST: names never in a URL), within what GET /referrals lists;
        # resolving a possible match is the team leader's same-person decision (issue 17).
        ("POST", "/people/search"): _p(P.REFERRALS_READ, unallocated=True),
        ("POST", "/referrals/{referral_id}/possible-matches/{person_id}"): _p(
            P.CASE_DECISIONS, REFERRAL, unallocated=True
        ),
        ("POST", "/arrears-alerts"): _p(P.ARREARS_SUBMIT),
        ("POST", "/arrears-alerts/batch"): _p(P.ARREARS_SUBMIT),
        ("POST", "/arrears-alerts/csv"): _p(P.ARREARS_SUBMIT),
        ("GET", "/arrears-alerts/batches/{batch_id}"): _p(P.ARREARS_READ, personal=False),
        # A CSV upload's job: progress and per-row results (issue 16, limits before work).
        ("GET", "/arrears-alerts/uploads/{job_id}"): _p(P.ARREARS_READ, personal=False),
        ("GET", "/arrears-alerts/tenancies/{tenancy_reference}"): _p(P.ARREARS_READ),
        # The landlord's tenancies at risk and what each caused (issue 17, the web app).
        ("GET", "/arrears-alerts/tenancies"): _p(P.ARREARS_READ),
        ("GET", "/risk-rules"): _p(P.SETTINGS_READ, personal=False),
        ("PUT", "/risk-rules"): _p(P.SETTINGS_MANAGE, personal=False),
        # Flows held for want of a data-sharing agreement (issue 15), for either party's admins.
        ("GET", "/held-flows"): _p(P.SETTINGS_READ, personal=False),
    },
    "allocation": {
        ("GET", "/teams"): _p(P.TEAMS_READ, personal=False),
        ("POST", "/teams"): _p(P.TEAMS_MANAGE, personal=False),
        ("GET", "/teams/{team_id}"): _p(P.TEAMS_READ, personal=False),
        ("PATCH", "/teams/{team_id}"): _p(P.TEAMS_MANAGE, personal=False),
        ("POST", "/caseworkers"): _p(P.TEAMS_MANAGE, personal=False),
        ("GET", "/caseworkers"): _p(P.TEAMS_READ, personal=False),
        ("GET", "/caseworkers/{worker_id}"): _p(P.TEAMS_READ, personal=False),
        ("PATCH", "/caseworkers/{worker_id}"): _p(P.TEAMS_MANAGE, personal=False),
        ("PUT", "/caseworkers/{worker_id}/availability"): _p(P.TEAMS_MANAGE, personal=False),
        ("GET", "/waiting-list"): _p(P.WAITING_LIST, unallocated=True),
        ("DELETE", "/waiting-list/reviews/{case_id}"): _p(P.CASE_DECISIONS, CASE, unallocated=True),
        ("GET", "/cases/{case_id}"): _p(P.CASES_READ, CASE),
        ("POST", "/cases/{case_id}/reallocate"): _p(P.CASE_DECISIONS, CASE),
        ("GET", "/capacity"): _p(P.REPORTS, personal=False),
    },
    "support": {
        ("GET", "/caseworkers/{worker_id}/cases"): _p(P.CASES_READ),
        ("GET", "/cases/{case_id}"): _p(P.CASES_READ, CASE),
        ("GET", "/reviews/due"): _p(P.CASES_READ),
        ("GET", "/escalated-cases"): _p(P.CASES_READ),
        # A case that began before Hearth, opened at its stage from a start date (issue 20).
        ("POST", "/cases"): _p(P.CASE_DECISIONS),
        ("POST", "/cases/{case_id}/assessment"): _p(P.CASEWORK, CASE),
        ("PUT", "/cases/{case_id}/plan"): _p(P.CASEWORK, CASE),
        ("POST", "/cases/{case_id}/plan/agree"): _p(P.CASEWORK, CASE),
        ("POST", "/cases/{case_id}/plan/actions/{action_id}/progress"): _p(P.CASEWORK, CASE),
        ("POST", "/cases/{case_id}/contacts"): _p(P.CASEWORK, CASE),
        ("POST", "/cases/{case_id}/files"): _p(P.CASEWORK, CASE),
        ("POST", "/cases/{case_id}/reviews/{review_id}/complete"): _p(P.CASEWORK, CASE),
        ("POST", "/cases/{case_id}/escalate"): _p(P.CASEWORK, CASE),
        ("POST", "/cases/{case_id}/limit-overrides"): _p(P.CASE_DECISIONS, CASE),
        ("POST", "/cases/{case_id}/close"): _p(P.CASEWORK, CASE),
        ("PUT", "/crisis-worker"): _p(P.SETTINGS_MANAGE, personal=False),
    },
    "reconnection": {
        ("GET", "/reconnection-cases"): _p(P.CASES_READ),
        # Opening a case (Phase 1, identify), as the spine's events also do (issue 20).
        ("POST", "/reconnection-cases"): _p(P.CASEWORK),
        ("GET", "/reconnection-cases/{case_id}"): _p(P.CASES_READ, RECONNECTION),
        # The boroughs the service works in (Tool 3, criterion 1), per organisation.
        ("GET", "/service-area"): _p(P.SETTINGS_READ, personal=False),
        ("PUT", "/service-area"): _p(P.SETTINGS_MANAGE, personal=False),
        # The presentation pack as kept and delivered (Phase 5).
        ("GET", "/reconnection-cases/{case_id}/presentation-pack/document"): _p(
            P.CASES_READ, RECONNECTION
        ),
        **{
            (method, f"/reconnection-cases/{{case_id}}{action}"): _p(P.CASEWORK, RECONNECTION)
            for method, action in (
                ("POST", "/checklist/{phase}/{item_id}/complete"),
                ("POST", "/checklist/{phase}/{item_id}/not-applicable"),
                ("POST", "/advance"),
                ("PUT", "/eligibility"),
                ("PUT", "/local-connection"),
                ("PUT", "/destination"),
                ("POST", "/authority-contacts"),
                ("PUT", "/part-vii"),
                ("PUT", "/presentation-pack/{item}"),
                ("PUT", "/reconnection-date"),
                ("PUT", "/risk-assessment"),
                ("PUT", "/travel-plan"),
                ("PUT", "/budget"),
                ("POST", "/budget/spend"),
                ("PUT", "/confidence-check"),
                ("POST", "/handovers"),
                ("PUT", "/closure/answers"),
                ("POST", "/closure/letter"),
                ("POST", "/closure/agencies-notified"),
                ("POST", "/closure/close"),
                ("POST", "/closure/review"),
                ("POST", "/closure/learning-points"),
                ("POST", "/close-early"),
            )
        },
        ("GET", "/learning-log"): _p(P.LEARNING, personal=False),
        ("POST", "/learning-log"): _p(P.LEARNING, personal=False),
    },
    "notifications": {
        ("GET", "/deliveries"): _p(P.DELIVERIES),
        ("GET", "/deliveries/{delivery_id}"): _p(P.DELIVERIES),
        ("POST", "/deliveries/{delivery_id}/resend"): _p(P.DELIVERIES),
        ("GET", "/deliveries/{delivery_id}/letter"): _p(P.DELIVERIES),
        ("GET", "/templates"): _p(P.SETTINGS_READ, personal=False),
        ("GET", "/templates/{key}"): _p(P.SETTINGS_READ, personal=False),
        ("PUT", "/templates/{key}"): _p(P.SETTINGS_MANAGE, personal=False),
        ("GET", "/settings"): _p(P.SETTINGS_READ, personal=False),
        ("PUT", "/settings"): _p(P.SETTINGS_MANAGE, personal=False),
        # Partner webhook endpoints: the organisation's own, managed as its settings are.
        ("GET", "/webhook-endpoints"): _p(P.SETTINGS_READ, personal=False),
        ("POST", "/webhook-endpoints"): _p(P.SETTINGS_MANAGE, personal=False),
        ("GET", "/webhook-endpoints/{endpoint_id}"): _p(P.SETTINGS_READ, personal=False),
        ("POST", "/webhook-endpoints/{endpoint_id}/rotate"): _p(P.SETTINGS_MANAGE, personal=False),
        ("POST", "/webhook-endpoints/{endpoint_id}/disable"): _p(P.SETTINGS_MANAGE, personal=False),
    },
    # Agreements name organisations, never people; every change and refusal is still audited.
    "agreements": {
        ("GET", "/agreements"): _p(P.AGREEMENTS_READ, personal=False),
        ("POST", "/agreements"): _p(P.AGREEMENTS_MANAGE, personal=False),
        ("GET", "/agreements/{agreement_id}"): _p(P.AGREEMENTS_READ, AGREEMENT, personal=False),
        **{
            ("POST", f"/agreements/{{agreement_id}}/{change}"): _p(
                P.AGREEMENTS_MANAGE, AGREEMENT, personal=False
            )
            for change in ("accept", "decline", "end")
        },
    },
    # Reading the trail is itself on the trail: who watches the watchers.
    "audit": {
        ("GET", "/audit/entries"): _p(P.AUDIT_READ),
        ("GET", "/audit/people/{person_id}"): _p(P.AUDIT_READ),
        ("GET", "/audit/records/{record_id}"): _p(P.AUDIT_READ),
        ("GET", "/audit/verification"): _p(P.AUDIT_READ, personal=False),
    },
    # Requests' status names no more than the pseudonymous person id; the bundle is the data.
    "privacy": {
        ("POST", "/subject-access-requests"): _p(P.PRIVACY_REQUESTS),
        ("GET", "/subject-access-requests"): _p(P.PRIVACY_READ, personal=False),
        ("GET", "/subject-access-requests/{request_id}"): _p(
            P.PRIVACY_READ, SUBJECT_ACCESS, personal=False
        ),
        ("GET", "/subject-access-requests/{request_id}/bundle"): _p(
            P.PRIVACY_REQUESTS, SUBJECT_ACCESS
        ),
        ("GET", "/subject-access-requests/{request_id}/bundle.pdf"): _p(
            P.PRIVACY_REQUESTS, SUBJECT_ACCESS
        ),
        ("POST", "/erasure-requests"): _p(P.PRIVACY_REQUESTS),
        ("GET", "/erasure-requests"): _p(P.PRIVACY_READ, personal=False),
        ("GET", "/erasure-requests/{request_id}"): _p(P.PRIVACY_READ, ERASURE, personal=False),
        ("GET", "/retention-schedule"): _p(P.PRIVACY_READ, personal=False),
        ("PUT", "/retention-schedule"): _p(P.RETENTION_MANAGE, personal=False),
    },
    # Figures, charts and the report name no person (team and caseworker ids at most); a team
    # leader's reach to their own teams is kept by the routes. The H-CLIC return and its
    # errors are rows per case: audited, with the cases they showed.
    "outcomes": {
        ("GET", "/outcomes/measures"): _p(P.REPORTS, personal=False),
        ("GET", "/outcomes/measures/{key}"): _p(P.REPORTS, personal=False),
        ("GET", "/outcomes/summary"): _p(P.REPORTS, personal=False),
        ("GET", "/outcomes/charts/{key}.svg"): _p(P.REPORTS, personal=False),
        ("GET", "/outcomes/charts/{key}.png"): _p(P.REPORTS, personal=False),
        ("GET", "/outcomes/reports/monthly.pdf"): _p(P.REPORTS, personal=False),
        ("GET", "/returns/hclic"): _p(P.RETURNS_READ),
        ("GET", "/returns/hclic.csv"): _p(P.RETURNS_READ),
        ("GET", "/returns/hclic/errors"): _p(P.RETURNS_READ),
        # The errors in the caller's reach, for the caseworkers who fix them.
        ("GET", "/returns/hclic/case-errors"): _p(P.CASES_READ),
    },
}


def _mark_creating() -> None:
    """Every POST is a command that creates (see `Policy.creates`)."""
    for table in ROUTES.values():
        for route, policy in table.items():
            table[route] = replace(policy, creates=route[0] == "POST")


_mark_creating()


def policy_for(service: str, method: str, path: str) -> Policy | None:
    """The policy of one route; `path` as declared on the router, without `/v1`."""
    return ROUTES.get(service, {}).get((method.upper(), path))


def reach(roles: frozenset[str], permission: Permission) -> Reach | None:
    """How far the roles let the caller exercise a permission; None when not at all."""
    reaches = [
        role_reach
        for role, (role_reach, permissions) in ROLE_PERMISSIONS.items()
        if role.value in roles and permission in permissions
    ]
    return max(reaches) if reaches else None


def roles_with(permission: Permission) -> list[Role]:
    return [role for role, (_, perms) in ROLE_PERMISSIONS.items() if permission in perms]
