"""Issue 20, done when: "`docs/` has a short integration guide for a partner system:
authentication, the error model, idempotency, the events it may consume, webhooks, with runnable
examples"; and from its list: "the webhook's events are not documented".

The guide's own snippets, run: its client-credentials function gets a real token from the test
stack's identity provider (the realm the demo imports, with the demo's machine clients), its
referral body is accepted by the real referral service, its error examples are the problem
shape the services answer, and its webhook check accepts what Hearth signs and refuses
anything else."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devstack.provision import Infrastructure
from services.notifications.webhook_api import WEBHOOK_EVENT_TYPES
from services.notifications.webhook_signing import new_secret, signed_headers
from shared.clock import ManualClock
from shared.problems import KINDS, TYPE_BASE, Problem
from shared.settings import HearthSettings
from tests.referral.service import running_referral

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "INTEGRATION.md"
PARTNER = ("probation-east-referrals", "probation-east-referrals-demo-secret")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(), re.S)


def _function(name: str) -> Callable[..., Any]:
    """A function the guide defines, taken from its Python snippets and run as written."""
    for block in _blocks("python"):
        if f"def {name}(" in block:
            namespace: dict[str, Any] = {}
            exec(compile(block, str(GUIDE), "exec"), namespace)  # the guide's own code
            function: Callable[..., Any] = namespace[name]
            return function
    raise AssertionError(f"the guide defines no {name}()")


def _json_examples() -> list[dict[str, Any]]:
    return [json.loads(block) for block in _blocks("json")]


def test_every_problem_example_is_the_shape_the_services_answer() -> None:
    problems = [e for e in _json_examples() if "status" in e and "type" in e]
    assert len(problems) >= 2
    for example in problems:
        Problem.model_validate(example)
        kind = KINDS[example["type"].removeprefix(TYPE_BASE)]
        assert (kind.status, kind.title) == (example["status"], example["title"])
        for error in example["errors"]:
            assert error["field"] in example["detail"]


def test_the_guide_lists_every_kind_of_problem_and_every_webhook_event() -> None:
    text = GUIDE.read_text()
    kinds = set(re.findall(r"^\| `([a-z-]+)` \| (\d{3}) \|", text, re.M))
    assert kinds == {(k.slug, str(k.status)) for k in KINDS.values()}
    events = set(re.findall(r"^\| `([A-Za-z]+)` \| [^|]+ \| [^|]+ \| `[a-z_]+` \|$", text, re.M))
    assert events == set(WEBHOOK_EVENT_TYPES)


def test_the_guides_webhook_check_accepts_what_hearth_signs_and_nothing_else() -> None:
    verify_webhook = _function("verify_webhook")
    secret, previous = new_secret(), new_secret()
    body = json.dumps({"event_type": "CaseClosed", "case_id": "ref-1"}).encode()
    now = int(time.time())
    headers = signed_headers([secret, previous], "msg_dlv-1", now, body)
    assert verify_webhook(secret, headers, body)
    assert verify_webhook(previous, headers, body)  # during a rotation, either secret
    assert not verify_webhook(new_secret(), headers, body)
    assert not verify_webhook(secret, headers, body.replace(b"ref-1", b"ref-2"))
    stale = signed_headers([secret], "msg_dlv-1", now - 600, body)
    assert not verify_webhook(secret, stale, body)


@pytest.mark.integration
async def test_the_guides_token_and_referral_work_against_the_real_services(
    infra: Infrastructure, make_settings: Callable[..., HearthSettings]
) -> None:
    client_token = _function("client_token")
    token = await asyncio.to_thread(client_token, infra.keycloak_url, *PARTNER)
    referral = next(e for e in _json_examples() if "referrer" in e)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "guide-example-1"}
    async with running_referral(make_settings("referral"), ManualClock()) as (_, client):
        accepted = await client.post("/v1/referrals", json=referral, headers=headers)
        assert accepted.status_code == 201, accepted.text
        again = await client.post("/v1/referrals", json=referral, headers=headers)
        assert again.json()["id"] == accepted.json()["id"]
        assert again.headers["Idempotent-Replayed"] == "true"

        # The guide's 422: every field at fault at once, each named, in the validator's words.
        wrong = {
            **referral,
            "person": {**referral["person"], "date_of_birth": "2999-01-01"},
            "contact": {**referral["contact"], "email": "a@example.org, b@example.org"},
        }
        refused = await client.post(
            "/v1/referrals", json=wrong, headers={"Authorization": f"Bearer {token}"}
        )
        assert refused.status_code == 422
        problem = Problem.model_validate(refused.json())
        example = next(e for e in _json_examples() if e.get("status") == 422)
        assert problem.type == example["type"] and problem.title == example["title"]
        assert [e.field for e in problem.errors] == [e["field"] for e in example["errors"]]
        assert problem.instance and problem.instance.startswith("urn:hearth:request:")
        assert refused.headers["X-Request-ID"] in problem.instance
