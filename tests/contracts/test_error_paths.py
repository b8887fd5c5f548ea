"""Issue 20: "error bodies come in three shapes (`{"detail","field"}`, `{"detail"}`,
`errors:[…]`) and some 422s leak validator wording"; "the OpenAPI documents only 200 and 422
for allocation, support and reconnection, which also return 403, 404 and 409".

Every route of every service, against the real app on the shared stack (broker, database,
identity provider), down each of its error paths: no token (401), a role the policy refuses
(403), a record that does not exist (404), a malformed body or parameter (422). Each answer's
status must be declared in the route's own OpenAPI, and its body valid against the schema
declared there for that status: one RFC 9457 problem shape everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shared.settings import HearthSettings
from tests.access.services import SERVICES, create
from tests.contracts.problems import missing_path, operations, problems_in, roles_for
from tests.identity import Identities, Identity

pytestmark = pytest.mark.integration

ORG = "contract-council"
MALFORMED_BODY = ["not", "an", "object"]  # every Hearth body is an object
# Routes whose path names what to list, not a record: an unknown one lists nothing (200).
LISTS_BY_PATH = {
    ("audit", "/audit/people/{person_id}"),
    ("audit", "/audit/records/{record_id}"),
    ("support", "/caseworkers/{worker_id}/cases"),  # a caseload: support holds no workers
}


def _is_enum(openapi: dict[str, Any], parameter: dict[str, Any]) -> bool:
    schema = parameter.get("schema", {})
    ref = schema.get("$ref", "")
    if ref:
        schema = openapi["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return "enum" in schema


def _integer_query(operation: dict[str, Any]) -> str | None:
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        types = [schema.get("type")] + [s.get("type") for s in schema.get("anyOf", [])]
        if parameter.get("in") == "query" and "integer" in types:
            return str(parameter["name"])
    return None


@pytest.mark.parametrize("service", SERVICES)
async def test_every_error_path_answers_the_problem_its_openapi_declares(
    service: str, make_settings: Callable[..., HearthSettings], identities: Identities
) -> None:
    app = create(service, make_settings(service))
    runtime = app.state.runtime
    await runtime.start(background_loops=False)
    openapi = app.openapi()

    def headers(role: Any) -> dict[str, str]:
        return identities.headers(Identity(ORG, (role.value,), ("team-c",), "worker-c"))

    wrong: list[str] = []
    seen: dict[int, int] = {}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"http://{service}"
        ) as client:
            for method, path, operation in operations(openapi):
                allowed, refused = roles_for(service, method, path)
                url = f"/v1{missing_path(path, operation)}"
                body = {} if "requestBody" in operation else None
                path_parameters = [p for p in operation.get("parameters", []) if p["in"] == "path"]
                attempts: list[tuple[int, str, dict[str, Any]]] = [
                    (401, "no token", {"json": body}),
                ]
                if refused:
                    attempts.append((403, "wrong role", {"json": body, "role": refused[0]}))
                enums = any(_is_enum(openapi, p) for p in path_parameters)
                lists = (service, path) in LISTS_BY_PATH
                if path_parameters and method in ("GET", "DELETE") and not enums and not lists:
                    attempts.append((404, "unknown id", {"role": allowed[0]}))
                if "requestBody" in operation:
                    attempts.append((422, "malformed body", {"json": MALFORMED_BODY}))
                elif (name := _integer_query(operation)) is not None:
                    attempts.append((422, "bad query", {"params": {name: "many"}}))
                for expected, what, how in attempts:
                    role = how.pop("role", allowed[0] if expected == 422 else None)
                    answer = await client.request(
                        method, url, headers=headers(role) if role else None, **how
                    )
                    seen[answer.status_code] = seen.get(answer.status_code, 0) + 1
                    label = f"{method} {path} ({what})"
                    if answer.status_code != expected:
                        wrong.append(
                            f"{label}: {answer.status_code}, not {expected}: {answer.text}"
                        )
                        continue
                    wrong += [f"{label}: {p}" for p in problems_in(openapi, operation, answer)]
    finally:
        await app.state.verifier.close()
        await runtime.stop()
    assert wrong == [], "\n".join(wrong)
    assert {401, 422} <= set(seen), seen
