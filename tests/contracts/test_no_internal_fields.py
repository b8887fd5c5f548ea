"""Issue 20: "a response carries the internal `_outbox_token`"; "No internal field leaves a
service (a response-model test over every route)".

Bookkeeping fields (`_id`, `_inbox`, `_outbox`, `_outbox_token`, `_written_by`, ...) start with
"_": none may be named by any response schema of any route, nor appear in any answer. The
answers are sampled from the real services on the shared stack: each service is given records
through its own API, then every GET route is called with the ids it made."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from devstack.contracts import openapi_for
from shared.settings import HearthSettings
from tests.access.services import SERVICES, create
from tests.contracts.problems import MISSING_ID, concrete, internal_keys, operations
from tests.identity import Identities, Identity
from tests.referral.factories import referral_json

ORG = "sample-council"
OTHER = "sample-homes"
ROLES = (
    "service-manager",
    "organisation-admin",
    "income-officer",
    "data-protection-officer",
    "auditor",
    "team-leader",
)


def _properties(document: dict[str, Any], schema: Any, seen: set[str]) -> set[str]:
    """Every property name a schema can produce, through references and compositions."""
    names: set[str] = set()
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name in seen:
                return names
            seen.add(name)
            return _properties(document, document["components"]["schemas"][name], seen)
        names |= set(schema.get("properties", {}))
        for value in schema.values():
            names |= _properties(document, value, seen)
    elif isinstance(schema, list):
        for value in schema:
            names |= _properties(document, value, seen)
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_no_response_schema_names_an_internal_field(service: str) -> None:
    document = openapi_for(service)
    wrong = []
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            for content in response.get("content", {}).values():
                names = _properties(document, content.get("schema", {}), set())
                wrong += [f"{method} {path} {status}: {n}" for n in names if n.startswith("_")]
    assert wrong == [], "\n".join(wrong)


# --- sampled answers ------------------------------------------------------------------------

Seed = tuple[str, str, Any]  # method, path, JSON body


def _seeds(service: str) -> list[Seed]:
    """Records each service is given through its own API before its answers are sampled."""
    today = date.today()
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    leader = {"name": "Lee Leader", "email": "lee@example.org"}
    return {
        "referral": [
            ("POST", "/referrals", referral_json()),
            ("PUT", "/risk-rules", {}),
            ("POST", "/arrears-alerts", {"tenancy_reference": "T-1", "arrears_balance": 1800}),
        ],
        "allocation": [
            ("POST", "/teams", {"id": "team-c", "name": "Team C", "team_leader": leader}),
            (
                "POST",
                "/caseworkers",
                {
                    "id": "worker-c",
                    "team_id": "team-c",
                    "name": "Wren Worker",
                    "email": "wren@example.org",
                    "specialisms": ["mental_health"],
                    "contracted_hours": 30,
                    "max_caseload": 10,
                },
            ),
            ("PUT", "/caseworkers/worker-c/availability", {}),
        ],
        "support": [
            (
                "POST",
                "/cases",
                {
                    "case_id": "ref-sample-1",
                    "person_id": "person-1",
                    "stage": "stage_2",
                    "started_on": (today - timedelta(days=30)).isoformat(),
                    "lead_worker_id": "worker-c",
                    "team_id": "team-c",
                },
            ),
            ("PUT", "/crisis-worker", {"worker_id": "worker-c"}),
            (
                "POST",
                "/cases/ref-sample-1/contacts",
                {
                    "worker_id": "worker-c",
                    "channel": "phone",
                    "occurred_on": today.isoformat(),
                    "duration_minutes": 30,
                },
            ),
            (
                "POST",
                "/cases/ref-sample-1/escalate",
                {"risk_level": "high", "reasons": ["rent unpaid"], "flagged_by": "worker-c"},
            ),
        ],
        "reconnection": [
            ("POST", "/learning-log", {"points": ["send the presentation pack early"]}),
            (
                "POST",
                "/reconnection-cases",
                {"case_id": "ref-sample-2", "person_id": "person-2", "referring_area": "Hackney"},
            ),
            ("POST", "/reconnection-cases/ref-sample-2/authority-contacts", {}),
        ],
        "notifications": [
            ("PUT", "/settings", {"display_name": "Sample Council"}),
            ("PUT", "/templates/closure_letter", {"subject": "Closed", "body": "Closed."}),
        ],
        "agreements": [
            (
                "POST",
                "/agreements",
                {
                    "counterparty": OTHER,
                    "purpose": "arrears-prevention",
                    "categories": ["tenancy", "arrears"],
                    "starts": since,
                },
            ),
        ],
        "privacy": [
            ("PUT", "/retention-schedule", {"periods": {"contact-details": {"years": 2}}}),
            ("POST", "/subject-access-requests", {"person_id": "person-1"}),
        ],
        "audit": [],
        "outcomes": [],  # no creating route; its figures are sampled empty
    }[service]


def _ids(value: Any, found: dict[str, set[str]]) -> None:
    """Values an answer names, by their key, to fill the GET routes' parameters."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and len(item) <= 200:
                found.setdefault(key, set()).add(item)
            _ids(item, found)
    elif isinstance(value, list):
        for item in value:
            _ids(item, found)


def _paths(path: str, found: dict[str, set[str]]) -> list[str]:
    """Concrete paths for a route: each parameter an id an answer gave under its name (or the
    answer's own `id`, for the route's first parameter), else a record that does not exist."""
    names = re.findall(r"\{([^}]+)\}", path)
    if not names:
        return [path]
    candidates = sorted(found.get(names[0], set()) | found.get("id", set())) or [MISSING_ID]
    paths = []
    for candidate in candidates[:5]:
        filled = path.replace(f"{{{names[0]}}}", candidate, 1)
        paths.append(concrete(filled))
    return paths


@pytest.mark.integration
@pytest.mark.parametrize("service", SERVICES)
async def test_no_sampled_answer_carries_an_internal_field(
    service: str, make_settings: Callable[..., HearthSettings], identities: Identities
) -> None:
    app = create(service, make_settings(service))
    runtime = app.state.runtime
    await runtime.start(background_loops=False)
    headers = identities.headers(Identity(ORG, ROLES, ("team-c",), "worker-c"))
    leaks: list[str] = []
    found: dict[str, set[str]] = {}
    answered = 0
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"http://{service}"
        ) as client:

            async def sample(method: str, path: str, body: Any = None) -> None:
                nonlocal answered
                answer = await client.request(method, f"/v1{path}", json=body, headers=headers)
                if "json" not in answer.headers.get("content-type", ""):
                    return  # a PDF, or no content
                value = answer.json()
                answered += answer.status_code < 300
                _ids(value, found)
                leaks.extend(f"{method} {path}: {k}" for k in internal_keys(value))

            for method, path, body in _seeds(service):
                await sample(method, path, body)
            for method, path, _operation in operations(app.openapi()):
                if method == "GET":
                    for concrete_path in _paths(path, found):
                        await sample(method, concrete_path)
    finally:
        await app.state.verifier.close()
        await runtime.stop()
    assert leaks == [], "\n".join(leaks)
    assert answered, "no answer was sampled"
