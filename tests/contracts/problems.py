"""Checking an answer against what its operation's OpenAPI declares, for the contract tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema_rs

from shared.policy import Role, policy_for, reach
from shared.problems import PROBLEM_JSON, TYPE_BASE

MISSING_ID = "no-such-record"


# Ids of records that do not exist, in the shapes the services' path patterns ask for.
_MISSING_IDS = (MISSING_ID, "no_such_record", "ep_" + "0" * 32, "0" * 32)


def concrete(path: str, value: str = MISSING_ID) -> str:
    """A request path for a route template: every parameter a record that does not exist."""
    return re.sub(r"\{[^}]+\}", value, path)


def missing_path(path: str, operation: dict[str, Any]) -> str:
    """`path` with each parameter a record that does not exist, shaped as its pattern asks."""
    for parameter in operation.get("parameters", []):
        if parameter.get("in") != "path":
            continue
        pattern = parameter.get("schema", {}).get("pattern")
        fits = [v for v in _MISSING_IDS if pattern is None or re.search(pattern, v)]
        path = path.replace(f"{{{parameter['name']}}}", fits[0] if fits else MISSING_ID)
    return concrete(path)


def operations(openapi: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path without /v1, operation) of every versioned operation."""
    for path, methods in openapi["paths"].items():
        if path.startswith("/v1/"):
            for method, operation in methods.items():
                yield method.upper(), path.removeprefix("/v1"), operation


def roles_for(service: str, method: str, path: str) -> tuple[list[Role], list[Role]]:
    """(roles the policy allows, widest reach first; roles it refuses)."""
    policy = policy_for(service, method, path)
    assert policy is not None, (service, method, path)
    allowed = [r for r in Role if reach(frozenset({r.value}), policy.permission) is not None]
    allowed.sort(key=lambda r: -int(reach(frozenset({r.value}), policy.permission) or 0))
    refused = [r for r in Role if r not in allowed]
    return allowed, refused


def declared_schema(openapi: dict[str, Any], operation: dict[str, Any], status: int) -> Any:
    """The schema the operation declares for a status's problem body (fails when undeclared)."""
    responses = operation.get("responses", {})
    assert str(status) in responses, f"{status} not declared (declared: {sorted(responses)})"
    content = responses[str(status)].get("content", {})
    assert PROBLEM_JSON in content, f"{status} declares {sorted(content)}, not {PROBLEM_JSON}"
    return content[PROBLEM_JSON]["schema"]


def problems_in(
    openapi: dict[str, Any], operation: dict[str, Any], response: httpx.Response
) -> list[str]:
    """What is wrong with an error answer, measured against the operation's own declaration:
    the status declared, the problem media type, and the body valid against the schema."""
    try:
        schema = declared_schema(openapi, operation, response.status_code)
    except AssertionError as exc:
        return [str(exc)]
    found = []
    media_type = response.headers.get("content-type", "").split(";")[0]
    if media_type != PROBLEM_JSON:
        found.append(f"content-type {media_type!r}")
    try:
        body = response.json()
    except ValueError:
        return [*found, f"not JSON: {response.text[:200]!r}"]
    # The declared schema, with the document's components for its references.
    validator = jsonschema_rs.validator_for({**schema, "components": openapi["components"]})
    found += [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(body)]
    if isinstance(body, dict):
        if body.get("status") != response.status_code:
            found.append(f"status {body.get('status')} in a {response.status_code} answer")
        if not str(body.get("type", "")).startswith(TYPE_BASE):
            found.append(f"type {body.get('type')!r}")
        for error in body.get("errors") or []:
            if error.get("field") not in body.get("detail", ""):
                found.append(f"detail {body.get('detail')!r} does not name {error.get('field')}")
        if "Value error" in response.text or "Assertion failed" in response.text:
            found.append(f"validator wording: {response.text[:200]}")
    return found


def internal_keys(value: Any, where: str = "") -> list[str]:
    """Every key starting with "_" anywhere in a JSON value, by its path."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).startswith("_"):
                found.append(f"{where}.{key}")
            found += internal_keys(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += internal_keys(item, f"{where}[{index}]")
    return found
