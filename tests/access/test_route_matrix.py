"""The whole role x route matrix, generated from the policy table and run against every
service with real tokens: a role the table does not allow gets 403 on every route; a role it
allows always gets past the access check (its answer is the route's own: 404 for the made-up
records used here, 422 for empty bodies, 200 for lists)."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from shared.policy import ROUTES, Role, policy_for, reach
from shared.settings import HearthSettings
from tests.access.services import SERVICES, create
from tests.identity import Identities, Identity

pytestmark = pytest.mark.integration

ORG = "matrix-council"


def _concrete(path: str) -> str:
    """A request path for a route: every parameter a record that does not exist."""
    return re.sub(r"\{[^}]+\}", "no-such-record", path)


@pytest.mark.parametrize("service", SERVICES)
async def test_every_role_on_every_route(
    service: str, make_settings: Callable[..., HearthSettings], identities: Identities
) -> None:
    app = create(service, make_settings(service))
    runtime = app.state.runtime
    await runtime.start(background_loops=False)
    headers = {
        role: identities.headers(Identity(ORG, (role.value,), ("team-m",), "worker-m"))
        for role in Role
    }
    wrong: list[str] = []
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"http://{service}"
        ) as client:
            for method, path in ROUTES[service]:
                policy = policy_for(service, method, path)
                assert policy is not None
                for role in Role:
                    allowed = reach(frozenset({role.value}), policy.permission) is not None
                    body = {} if method in ("POST", "PUT", "PATCH") else None
                    response = await client.request(
                        method, f"/v1{_concrete(path)}", headers=headers[role], json=body
                    )
                    refused = response.status_code in (401, 403)
                    if allowed == refused or response.status_code >= 500:
                        wrong.append(f"{role.value} {method} {path} -> {response.status_code}")
    finally:
        await app.state.verifier.close()
        await runtime.stop()
    assert wrong == [], "\n".join(wrong)


async def test_no_route_answers_without_a_token(
    make_settings: Callable[..., HearthSettings],
) -> None:
    for service in SERVICES:
        app = create(service, make_settings(service))
        runtime = app.state.runtime
        await runtime.start(background_loops=False)
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=f"http://{service}"
            ) as client:
                for method, path in ROUTES[service]:
                    response = await client.request(method, f"/v1{_concrete(path)}")
                    assert response.status_code == 401, (service, method, path)
                assert (await client.get("/health/live")).status_code == 200
        finally:
            await app.state.verifier.close()
            await runtime.stop()
