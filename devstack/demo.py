"""Load the demo into a running platform over the services' own HTTP APIs, then show what
happened: screening routes, allocations, the arrears batch, escalations and notifications."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from devstack import demo_data as data
from devstack.platform import Platform
from devstack.stack import REPO_ROOT
from devstack.toolchain import say


class Client:
    """One demo person (or machine client) calling the services with their own real token."""

    def __init__(self, platform: Platform, token: str) -> None:
        self.platform = platform
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, service: str, path: str, **kw: Any) -> Any:
        url = f"{self.platform.services[service].url}/v1{path}"
        response = httpx.request(method, url, headers=self.headers, timeout=60, **kw)
        if response.status_code >= 400 and response.status_code != 409:  # 409: loaded before
            say(f"demo: {method} {service}{path} -> {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None


def _wait(what: str, check: Callable[[], bool], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except (httpx.HTTPError, KeyError, TypeError):
            pass
        time.sleep(0.5)
    say(f"demo: still waiting for {what} after {timeout:.0f}s (see the service logs)")
    return False


def _signed_in(platform: Platform, keycloak_url: str, username: str) -> Client:
    token_url = f"{keycloak_url}/realms/hearth/protocol/openid-connect/token"
    form = {
        "grant_type": "password",
        "client_id": "hearth-cli",
        "username": username,
        "password": data.DEMO_PASSWORD,
    }
    response = httpx.post(token_url, data=form, timeout=30)
    response.raise_for_status()
    return Client(platform, response.json()["access_token"])


def _machine(platform: Platform, keycloak_url: str, client_id: str, secret: str) -> Client:
    token_url = f"{keycloak_url}/realms/hearth/protocol/openid-connect/token"
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    response = httpx.post(token_url, data=form, timeout=30)
    response.raise_for_status()
    return Client(platform, response.json()["access_token"])


def load_demo(platform: Platform, keycloak_url: str) -> None:
    say("loading the demo: teams, caseworkers, referrals, an arrears batch, a reconnection")
    organisations = data.TEAMS | data.NOTIFICATION_SETTINGS
    # Each step is done by the person whose job it is, signed in through the identity provider.
    admins = {
        o: _signed_in(platform, keycloak_url, f"{o}.organisation-admin") for o in organisations
    }
    clients = {o: _signed_in(platform, keycloak_url, f"{o}.service-manager") for o in organisations}
    # A year of history, generated and published while the rest of the demo loads.
    importing = _start_history_import(platform)
    if "agreements" in platform.services:
        _agree(admins)  # first: every cross-organisation flow below checks one
    for key, settings in data.NOTIFICATION_SETTINGS.items():
        admins[key].call("PUT", "notifications", "/settings", json=settings)
    for key, rules in data.RISK_RULES.items():
        admins[key].call("PUT", "referral", "/risk-rules", json=rules)
    for key, teams in data.TEAMS.items():
        for team in teams:
            admins[key].call("POST", "allocation", "/teams", json=team)
        for worker in data.CASEWORKERS[key]:
            admins[key].call("POST", "allocation", "/caseworkers", json=worker)

    referral_ids: list[tuple[str, str]] = []
    for key, referrals in data.REFERRALS.items():
        for body in referrals:
            answer = clients[key].call("POST", "referral", "/referrals", json=body)
            if answer and "id" in answer:
                referral_ids.append((key, answer["id"]))
    council = clients[data.COUNCIL_KEY]
    _wait(
        "referrals to be allocated",
        lambda: all(
            clients[key].call("GET", "referral", f"/referrals/{rid}")["status"]
            in ("allocated", "assessed", "closed")
            for key, rid in referral_ids
        ),
    )

    feed = _machine(platform, keycloak_url, *data.ARREARS_FEED)  # the landlord's nightly feed
    upload = feed.call(
        "POST",
        "referral",
        "/arrears-alerts/csv",
        files={"file": ("derby-homes-nightly.csv", data.arrears_csv(), "text/csv")},
    )
    if upload:  # a job, decided in the background: followed until it is done
        job_path = f"/arrears-alerts/uploads/{upload.get('job_id')}"
        _wait(
            "the arrears file to be processed",
            lambda: feed.call("GET", "referral", job_path)["status"] in ("completed", "failed"),
        )
        job = feed.call("GET", "referral", job_path)
        state = f"{job.get('status')}, {job.get('counts')}"
        say(f"demo: arrears upload {upload.get('job_id')}: {state}")
    _wait(
        "the tenancy with an open case to be escalated",
        lambda: bool(council.call("GET", "support", "/escalated-cases")["cases"]),
    )

    lines = ["", "Demo loaded. What happened:"]
    for key, rid in referral_ids:
        referral = clients[key].call("GET", "referral", f"/referrals/{rid}") or {}
        lines.append(
            f"  referral {rid} ({key}): {referral.get('status')}, route {referral.get('route')}"
        )
    waiting = council.call("GET", "allocation", "/waiting-list") or {}
    capacity = council.call("GET", "allocation", "/capacity") or {}
    escalated = council.call("GET", "support", "/escalated-cases") or {}
    deliveries = council.call("GET", "notifications", "/deliveries") or {}
    lines += [
        f"  waiting list (derby-council): {len(waiting.get('entries', waiting.get('items', [])))}",
        f"  capacity (derby-council): {_capacity_line(capacity)}",
        f"  escalated cases (derby-council): {len(escalated.get('cases', []))}",
        f"  notifications recorded (derby-council): {deliveries.get('count')}",
        "  every look at these records is on the audit trail: sign in as derby-council.auditor "
        f"and GET {platform.services['audit'].url}/v1/audit/entries"
        if "audit" in platform.services
        else "",
        *_history_lines(platform, importing),
    ]
    print("\n".join(lines), flush=True)


# The demo's teams the generated history is filed under (the rest are generated).
HISTORY_TEAMS = {
    f"{data.COUNCIL_KEY}:support": "derby-tenancy-support",
    f"{data.COUNCIL_KEY}:reconnection": "derby-outreach",
    f"{data.OTHER_COUNCIL_KEY}:support": "leeds-prevention",
}
HISTORY_MONTHS = 12
HISTORY_REFERRALS_PER_MONTH = 30


def _start_history_import(platform: Platform) -> subprocess.Popen[str] | None:
    """A year of generated events for the councils (services/outcomes/history_generator.py),
    published to the history topic only the outcomes service reads, so no other service acts
    on it. Run in the background as the outcomes service's own command, with its broker
    principal (the only one that may write that topic)."""
    if "outcomes" not in platform.services:
        return None
    command = [
        sys.executable,
        "-m",
        "services.outcomes",
        "import-history",
        "--months",
        str(HISTORY_MONTHS),
        "--seed",
        "1",
        "--referrals-per-month",
        str(HISTORY_REFERRALS_PER_MONTH),
        "--landlord",
        f"{data.COUNCIL_KEY}={data.LANDLORD_KEY}",
    ]
    for organisation in data.TEAMS:
        command += ["--organisation", organisation]
    for key, team_id in HISTORY_TEAMS.items():
        command += ["--team", f"{key}={team_id}"]
    env = {
        **platform.env,
        **platform._broker_principal("outcomes"),
        "HEARTH_SERVICE_NAME": "outcomes",
        "HEARTH_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        command,
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _history_lines(platform: Platform, importing: subprocess.Popen[str] | None) -> list[str]:
    """What the history import did, and where to see the dashboard and the report."""
    if importing is None:
        return []
    try:
        out, err = importing.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        importing.kill()
        out, err = importing.communicate()
    if importing.returncode != 0:
        say(f"demo: history not imported: {err.strip()[-500:]}")
        return []
    say(f"demo: {out.strip()}")
    api = f"{platform.services['outcomes'].url}/v1"
    lines = [
        f"  outcomes: {HISTORY_MONTHS} months of generated history for "
        f"{', '.join(data.TEAMS)} (the outcomes service takes it in within a minute)",
        f"    measures  {api}/outcomes/measures   (sign in as derby-council.service-manager)",
        f"    report    {api}/outcomes/reports/monthly.pdf",
        f"    H-CLIC    {api}/returns/hclic.csv?quarter=<e.g. 2026-Q2>",
    ]
    if web := platform.services.get("web"):
        lines += [
            f"    dashboard {web.url}/outcomes   (the web app, as derby-council.service-manager)",
            f"    report    {web.url}/outcomes/report.pdf",
        ]
    return lines


def _agree(admins: dict[str, Client]) -> None:
    """Propose each demo agreement as one organisation's admin, accept it as the other's;
    one already live (a run with --keep-data) is left as it is."""
    live = 0
    for agreement in data.AGREEMENTS:
        proposer, counterparty = agreement["proposed_by"], agreement["counterparty"]
        held = admins[proposer].call("GET", "agreements", "/agreements") or {}
        if any(
            a["counterparty"] in (proposer, counterparty)
            and a["proposed_by"] in (proposer, counterparty)
            and a["purpose"] == agreement["purpose"]
            and a["live"]
            for a in held.get("agreements", [])
        ):
            live += 1
            continue
        body = {k: v for k, v in agreement.items() if k != "proposed_by"}
        # From yesterday: flows checked at an event's own (slightly earlier) time are covered.
        body["starts"] = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        proposed = admins[proposer].call("POST", "agreements", "/agreements", json=body)
        if not proposed or "agreement_id" not in proposed:
            continue
        path = f"/agreements/{proposed['agreement_id']}/accept"
        accepted = admins[counterparty].call("POST", "agreements", path, json={})
        live += bool(accepted and accepted.get("status") == "active")
    say(f"demo: {live} of {len(data.AGREEMENTS)} data-sharing agreements live")
    time.sleep(3)  # each service's replica (shared/agreement_book.py) takes them from the broker


def _capacity_line(capacity: dict[str, Any]) -> str:
    organisation = capacity.get("organisation_totals") or {}
    keys = ("open_cases", "hours_committed", "contracted_hours", "waiting")
    return (
        ", ".join(f"{k} {organisation[k]}" for k in keys if k in organisation) or "see /v1/capacity"
    )
