"""Every page of the web app, one module per area; `PAGES` is what the app mounts."""

from services.web.pages import (
    arrears,
    auth,
    caseload,
    cases,
    dashboard,
    home,
    notifications,
    outcomes,
    reconnection,
    referrals,
    returns,
    settings_pages,
    team,
)

PAGES = [
    auth.router,
    home.router,
    caseload.router,
    cases.router,
    team.router,
    referrals.router,
    reconnection.router,
    arrears.router,
    dashboard.router,
    outcomes.router,
    returns.router,
    settings_pages.router,
    notifications.router,
]
