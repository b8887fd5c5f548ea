"""Setting the scene through the real APIs, as the organisation's service manager: teams,
caseworkers and referrals a browser test needs but is not about."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from devstack.platform import Platform
from tests.identity import bearer


class ApiSeed:
    def __init__(self, platform: Platform, organisation: str) -> None:
        self.platform = platform
        self.organisation = organisation
        self.headers = bearer(organisation)

    def url(self, service: str, path: str) -> str:
        return f"{self.platform.services[service].url}/v1{path}"

    def get(self, service: str, path: str) -> httpx.Response:
        return httpx.get(self.url(service, path), headers=self.headers, timeout=30)

    def json(self, service: str, path: str) -> Any:
        answer = self.get(service, path)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def post(self, service: str, path: str, body: Any, created: bool = True) -> Any:
        headers = self.headers | {"Idempotency-Key": f"seed-{time.monotonic_ns()}"}
        answer = httpx.post(self.url(service, path), json=body, headers=headers, timeout=30)
        assert answer.status_code == (201 if created else 200), answer.text
        return answer.json()

    def team(self, team_id: str, name: str, leader: str) -> None:
        email = f"{leader.split()[0].lower()}@{self.organisation}.test"
        body = {"id": team_id, "name": name, "team_leader": {"name": leader, "email": email}}
        self.post("allocation", "/teams", body)

    def worker(
        self, worker_id: str, team_id: str, name: str, skills: list[str], hours: float
    ) -> Any:
        body = {
            "id": worker_id,
            "team_id": team_id,
            "name": name,
            "email": f"{worker_id}@{self.organisation}.test",
            "specialisms": skills,
            "contracted_hours": hours,
            "max_caseload": 10,
        }
        return self.post("allocation", "/caseworkers", body)

    def refer(self, body: dict[str, Any]) -> str:
        return str(self.post("referral", "/referrals", body)["id"])


def eventually(condition: Callable[[], Any], what: str, timeout: float = 90.0) -> Any:
    """Poll until the condition holds (what the platform does happens through events)."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)
    return result
