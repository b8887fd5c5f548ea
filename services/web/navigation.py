"""What each person sees in the service navigation: the pages their roles may use (the same
permissions the APIs enforce, from `shared/policy.py`, so a link is never a dead end)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.policy import Permission, reach


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    permission: Permission | None  # None: everyone signed in


P = Permission
ITEMS: tuple[NavItem, ...] = (
    NavItem("Today", "/", None),
    NavItem("My caseload", "/caseload", P.CASEWORK),
    NavItem("Waiting list", "/waiting-list", P.WAITING_LIST),
    NavItem("Team", "/team", P.TEAMS_READ),
    NavItem("Referrals", "/referrals", P.REFERRALS_READ),
    NavItem("Reconnection", "/reconnection", P.CASES_READ),
    NavItem("Arrears", "/arrears", P.ARREARS_READ),
    NavItem("Dashboard", "/dashboard", P.REPORTS),
    NavItem("Outcomes", "/outcomes", P.REPORTS),
    NavItem("Statutory return", "/returns/hclic", P.RETURNS_READ),
    NavItem("Notifications", "/notifications", P.DELIVERIES),
    NavItem("Settings", "/settings", P.SETTINGS_READ),
)


def may(roles: frozenset[str], permission: Permission | None) -> bool:
    return permission is None or reach(roles, permission) is not None


def items_for(roles: frozenset[str]) -> list[NavItem]:
    return [item for item in ITEMS if may(roles, item.permission)]


def current(path: str, items: list[NavItem]) -> NavItem | None:
    """The item a page belongs to: the longest href that starts its path."""
    matches = [i for i in items if path == i.href or (i.href != "/" and path.startswith(i.href))]
    return max(matches, key=lambda i: len(i.href), default=None)
