"""The policy table covers every route of every service, and nothing else: a new route
without a policy fails here (and is refused at run time)."""

from __future__ import annotations

import pytest

from shared.policy import ROLE_PERMISSIONS, ROUTES, Permission, Reach, Role, reach
from shared.settings import HearthSettings
from tests.access.services import SERVICES, create, routes


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_has_a_policy_and_every_policy_a_route(service: str) -> None:
    app = create(service, HearthSettings(service_name=service))
    served = set(routes(app))
    assert served, f"{service} serves no versioned routes"
    declared = set(ROUTES[service])
    assert served - declared == set(), "routes without a policy"
    assert declared - served == set(), "policies of routes that do not exist"


def test_every_permission_is_held_by_some_role() -> None:
    held = {p for _, permissions in ROLE_PERMISSIONS.values() for p in permissions}
    assert held == set(Permission)


def test_every_role_has_its_permissions() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)


def test_reach_is_the_widest_of_the_roles() -> None:
    both = frozenset({"caseworker", "service-manager"})
    assert reach(both, Permission.CASES_READ) is Reach.ORGANISATION
    assert reach(frozenset({"caseworker"}), Permission.CASES_READ) is Reach.TEAM
    assert reach(frozenset({"caseworker"}), Permission.SETTINGS_MANAGE) is None
    assert reach(frozenset({"someone-else"}), Permission.CASES_READ) is None


def test_an_income_officer_never_reaches_casework_or_health_detail() -> None:
    officer = frozenset({"income-officer"})
    for permission in (Permission.CASES_READ, Permission.CASEWORK, Permission.REFERRALS_READ):
        assert reach(officer, permission) is None


def test_an_auditor_reads_the_audit_trail_the_agreements_and_privacy_request_status_only() -> None:
    # The status of subject-access and erasure requests, never a bundle of personal data; and
    # the statutory return (H-CLIC) with its errors, checked before submission (issue 18).
    expected = {
        Permission.AUDIT_READ,
        Permission.AGREEMENTS_READ,
        Permission.PRIVACY_READ,
        Permission.RETURNS_READ,
    }
    assert ROLE_PERMISSIONS[Role.AUDITOR][1] == expected
