"""Every page of the web app, one module per area; `PAGES` is what the app mounts."""

from services.web.pages import (
    arrears,
    auth,
    caseload,
    cases,
    dashboard,
    home,
    notifications,
    reconnection,
    referrals,
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
    settings_pages.router,
    notifications.router,
]
