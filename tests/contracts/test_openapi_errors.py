"""Issue 20: "the OpenAPI documents only 200 and 422 for allocation, support and reconnection,
which also return 403, 404 and 409". Every operation of every service declares each error
status it can answer, each with the one problem schema (RFC 9457)."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.contracts import openapi_for
from shared.problems import PROBLEM_JSON
from tests.access.services import SERVICES
from tests.contracts.problems import operations

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    return {service: openapi_for(service) for service in SERVICES}


def _missing(method: str, path: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses this operation must declare, by what it is, that it does not."""
    wanted = {"401", "403"}
    if "{" in path:
        wanted.add("404")
    if "requestBody" in operation:
        wanted |= {"413", "422"}
    if method == "POST" or ("{" in path and method in ("PUT", "PATCH", "DELETE")):
        wanted.add("409")  # an Idempotency-Key reused, a rule of the record, another writer
    return sorted(wanted - set(operation.get("responses", {})))


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_declares_the_errors_it_can_answer(
    documents: dict[str, dict[str, Any]], service: str
) -> None:
    document = documents[service]
    wrong = []
    for method, path, operation in operations(document):
        missing = _missing(method, path, operation)
        if missing:
            wrong.append(f"{method} {path}: {missing} not declared")
        for status, response in operation["responses"].items():
            if int(status) >= 400 and response.get("content") != {
                PROBLEM_JSON: {"schema": PROBLEM_REF}
            }:
                wrong.append(f"{method} {path}: {status} is not a problem: {response}")
    assert wrong == [], "\n".join(wrong)
    schemas = document["components"]["schemas"]
    assert "Problem" in schemas and "HTTPValidationError" not in schemas
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail", "errors"}


@pytest.mark.parametrize("service", ["allocation", "support", "reconnection"])
def test_the_three_services_named_in_the_issue_declare_403_404_and_409(
    documents: dict[str, dict[str, Any]], service: str
) -> None:
    declared = {
        status
        for _method, _path, operation in operations(documents[service])
        for status in operation["responses"]
    }
    assert {"401", "403", "404", "409", "422"} <= declared
