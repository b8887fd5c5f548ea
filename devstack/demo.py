"""Load the demo into a running platform over the services' own HTTP APIs, then show what
happened: screening routes, allocations, the arrears batch, escalations and notifications."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from devstack import demo_data as data
from devstack.platform import Platform
from devstack.toolchain import say


class Client:
    def __init__(self, platform: Platform, api_key: str) -> None:
        self.platform = platform
        self.headers = {"X-API-Key": api_key}

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


def load_demo(platform: Platform) -> None:
    say("loading the demo: teams, caseworkers, referrals, an arrears batch, a reconnection")
    clients = {key: Client(platform, key) for key in data.TEAMS | data.NOTIFICATION_SETTINGS}
    for key, settings in data.NOTIFICATION_SETTINGS.items():
        clients[key].call("PUT", "notifications", "/settings", json=settings)
    for key, rules in data.RISK_RULES.items():
        clients[key].call("PUT", "referral", "/risk-rules", json=rules)
    for key, teams in data.TEAMS.items():
        for team in teams:
            clients[key].call("POST", "allocation", "/teams", json=team)
        for worker in data.CASEWORKERS[key]:
            clients[key].call("POST", "allocation", "/caseworkers", json=worker)

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

    landlord = clients[data.LANDLORD_KEY]
    upload = landlord.call(
        "POST",
        "referral",
        "/arrears-alerts/csv",
        files={"file": ("derby-homes-nightly.csv", data.arrears_csv(), "text/csv")},
    )
    if upload:
        say(f"demo: arrears batch {upload.get('batch_id')}: {upload.get('counts')}")
    _wait(
        "the tenancy with an open case to be escalated",
        lambda: bool(council.call("GET", "support", "/escalated-cases")["cases"]),
    )

    lines = ["", "Demo loaded. What happened:"]
    for key, rid in referral_ids:
        referral = clients[key].call("GET", "referral", f"/referrals/{rid}") or {}
        lines.append(
            f"  referral {rid} ({key.removeprefix('demo-')}): {referral.get('status')}, "
            f"route {referral.get('route')}"
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
        "  try: curl -H 'X-API-Key: demo-derby-council' "
        f"{platform.services['referral'].url}/v1/referrals",
    ]
    print("\n".join(lines), flush=True)


def _capacity_line(capacity: dict[str, Any]) -> str:
    organisation = capacity.get("organisation_totals") or {}
    keys = ("open_cases", "hours_committed", "contracted_hours", "waiting")
    return (
        ", ".join(f"{k} {organisation[k]}" for k in keys if k in organisation) or "see /v1/capacity"
    )
