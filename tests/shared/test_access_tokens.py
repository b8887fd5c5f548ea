"""Bad tokens and attacks, against the real Keycloak of the test stack: each is refused with 401
and a reason that names what is wrong, and each refusal lands on the audit topic.

The service under test is the real referral service; the route is `GET /v1/referrals`.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from devstack.provision import Infrastructure
from services.referral.app import create_app
from shared.events.envelope import from_kafka
from shared.settings import HearthSettings
from shared.topics import Topic, topic_name
from tests.identity import Identities, Identity
from tests.tenancies import tenancy_of

pytestmark = pytest.mark.integration

MANAGER = Identity("derby-council", ("service-manager",))


class Api:
    def __init__(self, settings: HearthSettings) -> None:
        self.settings = settings
        self.app = create_app(settings, manage_runtime=False)
        self.runtime = self.app.state.runtime
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://referral"
        )

    async def get(self, token: str | None, path: str = "/v1/referrals") -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return await self.client.get(path, headers=headers)


@pytest.fixture
async def api_for(
    make_settings: Callable[..., HearthSettings],
) -> AsyncIterator[Callable[..., Any]]:
    started: list[Api] = []

    async def open_api(**overrides: Any) -> Api:
        api = Api(make_settings("referral", **overrides))
        await api.runtime.start(background_loops=False)
        started.append(api)
        return api

    yield open_api
    for api in started:
        await api.client.aclose()
        await api.app.state.verifier.close()
        await api.runtime.stop()


def _segments(token: str) -> list[str]:
    return token.split(".")


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    payload = _segments(token)[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


async def _refusals(topic_reader: Any, settings: HearthSettings, n: int) -> list[Any]:
    reader = await topic_reader(topic_name(Topic.AUDIT, settings.topic_prefix))
    records = await reader.read_until(lambda r: len(r) >= n)
    return [from_kafka(r.key, r.value, r.headers).data for r in records]


async def test_a_real_token_is_accepted(api_for: Any, identities: Identities) -> None:
    api = await api_for()
    response = await api.get(identities.token(MANAGER))
    assert response.status_code == 200, response.text
    assert response.headers["X-Request-ID"]


async def test_every_bad_token_is_refused_with_its_reason_and_audited(
    api_for: Any, identities: Identities, infra: Infrastructure, topic_reader: Any
) -> None:
    api = await api_for()
    good = identities.token(MANAGER)
    header, payload, signature = _segments(good)
    claims = _claims(good)
    other_org = _b64({**claims, "organisation": "leeds-council"})
    # "alg: none": the same claims, no signature at all.
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    # The classic confusion: HMAC "signed" with the provider's public key as the secret.
    confused = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': 'x'})}.{payload}.{signature}"
    other_realm = identities.other_realm_token()
    cases = [
        (None, "bearer token is required"),
        ("not-a-jwt", "not a well-formed JSON Web Token"),
        (unsigned, "algorithm 'none' is not accepted"),
        (confused, "algorithm 'HS256' is not accepted"),
        (f"{header}.{other_org}.{signature}", "signature does not verify"),
        (f"{header}.{payload}.{signature[:-6]}AAAAAA", "signature does not verify"),
        (other_realm, "not publish"),  # another realm's key: not one of ours
    ]
    for token, reason in cases:
        response = await api.get(token)
        assert response.status_code == 401, (reason, response.text)
        assert reason in response.json()["detail"], response.json()
        assert response.headers["WWW-Authenticate"].startswith("Bearer")

    entries = await _refusals(topic_reader, api.settings, len(cases))
    assert [e["outcome"] for e in entries] == ["refused"] * len(cases)
    assert all(e["organisation"] == "unverified" and e["status"] == 401 for e in entries)
    for entry, (_, reason) in zip(entries, cases, strict=True):
        assert reason in entry["reason"]
    assert all(e["client_address"] for e in entries)


async def test_expired_and_not_yet_valid_tokens_are_refused(
    api_for: Any, identities: Identities
) -> None:
    api = await api_for(oidc_leeway_seconds=30)
    # Issued now: a cached token issued minutes ago would look valid at "now - 120 s".
    token = identities.fresh_token(MANAGER)
    lifetime = _claims(token)["exp"] - time.time()
    verifier = api.app.state.verifier
    verifier.wall_clock = lambda: time.time() + lifetime + 31  # just past expiry and leeway
    response = await api.get(token)
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    verifier.wall_clock = lambda: time.time() - 120  # the token was issued "in the future"
    response = await api.get(token)
    assert response.status_code == 401 and "not valid yet" in response.json()["detail"]
    verifier.wall_clock = time.time
    assert (await api.get(token)).status_code == 200


async def test_wrong_audience_and_wrong_issuer_are_refused(
    api_for: Any, identities: Identities, infra: Infrastructure
) -> None:
    token = identities.token(MANAGER)
    other_audience = await api_for(oidc_audience="some-other-api")
    response = await other_audience.get(token)
    assert response.status_code == 401 and "not meant for" in response.json()["detail"]
    # The same keys, but the service trusts a different issuer.
    jwks = f"{infra.oidc_issuer}/protocol/openid-connect/certs"
    other_issuer = await api_for(
        oidc_issuer="https://idp.example.test/realms/x", oidc_jwks_url=jwks
    )
    response = await other_issuer.get(token)
    assert response.status_code == 401 and "do not trust" in response.json()["detail"]


async def test_a_token_without_an_organisation_is_refused(
    api_for: Any, identities: Identities
) -> None:
    api = await api_for(oidc_organisation_claim="tenant")
    response = await api.get(identities.token(MANAGER))
    assert response.status_code == 401 and "names no organisation" in response.json()["detail"]


async def test_rotated_keys_are_fetched_once_and_unknown_keys_do_not_hammer(
    api_for: Any, identities: Identities
) -> None:
    api = await api_for()
    assert (await api.get(identities.token(MANAGER))).status_code == 200
    keys = api.app.state.verifier.keys
    first_fetch = keys._cache.fetched_at
    # The provider rotates: a new key with a higher priority signs every new token.
    # Seconds since 1970: above any key an earlier run added to a long-lived provider.
    identities.admin.add_generated_rsa_key("hearth", priority=int(time.time()))
    rotated = identities.fresh_token(MANAGER)
    keys.min_refresh_seconds = 0  # the first refetch may come at once
    assert (await api.get(rotated)).status_code == 200
    assert keys._cache.fetched_at > first_fetch
    # Made-up key ids: refused, and at most one refetch per window.
    keys.min_refresh_seconds = 60
    fetched = keys._cache.fetched_at
    _, payload, signature = _segments(rotated)
    for n in range(5):
        forged = f"{_b64({'alg': 'RS256', 'kid': f'made-up-{n}'})}.{payload}.{signature}"
        assert (await api.get(forged)).status_code == 401
    assert keys._cache.fetched_at == fetched


async def test_repeated_failures_from_one_client_get_429_and_one_audit_entry(
    api_for: Any, identities: Identities, topic_reader: Any
) -> None:
    api = await api_for(failed_sign_in_limit=3, failed_sign_in_window_seconds=60)
    for _ in range(3):
        assert (await api.get("bad-token")).status_code == 401
    for _ in range(4):
        blocked = await api.get(identities.token(MANAGER))  # even a good token now waits
        assert blocked.status_code == 429
        assert int(blocked.headers["Retry-After"]) >= 1
    entries = await _refusals(topic_reader, api.settings, 4)
    reader_settle = await topic_reader(topic_name(Topic.AUDIT, api.settings.topic_prefix))
    everything = await reader_settle.settle(1.0)
    statuses = [from_kafka(r.key, r.value, r.headers).data["status"] for r in everything]
    assert statuses == [401, 401, 401, 429], statuses
    assert entries[3]["reason"].startswith("too many failed sign-ins")


async def test_a_role_without_the_permission_gets_403_and_is_audited(
    api_for: Any, identities: Identities, topic_reader: Any
) -> None:
    api = await api_for()
    auditor = identities.token(Identity("derby-council", ("auditor",)))
    response = await api.get(auditor)
    assert response.status_code == 403
    assert "referrals.read" in response.json()["detail"]
    [entry] = await _refusals(topic_reader, api.settings, 1)
    assert entry["organisation"] == "derby-council" and entry["status"] == 403
    assert entry["actor_roles"] == ["auditor"] and entry["action"] == "referrals.read"


async def test_metrics_are_not_served_on_the_public_port(api_for: Any) -> None:
    api = await api_for()
    assert (await api.client.get("/metrics")).status_code == 404
    assert (await api.client.get("/health/live")).status_code == 200


async def test_a_machine_client_signs_in_with_client_credentials_and_only_feeds_alerts(
    api_for: Any, identities: Identities
) -> None:
    api = await api_for()
    token = identities.admin.client_credentials_token(
        "hearth", "derby-homes-arrears-feed", "derby-homes-arrears-feed-demo-secret"
    )
    headers = {"Authorization": f"Bearer {token}"}
    alert = {"tenancy_reference": "FEED-1", "arrears_balance": 900}
    sent = await api.client.post("/v1/arrears-alerts", json=alert, headers=headers)
    assert sent.status_code == 200, sent.text
    # Its organisation, from the token: the id is the landlord's, keyed from the reference.
    assert sent.json()["tenancy_id"] == tenancy_of("derby-homes", "FEED-1")
    assert (await api.get(token)).status_code == 403  # no casework, no referrals
    wrong_secret = await api.client.post(
        "/v1/arrears-alerts", json=alert, headers={"Authorization": "Bearer " + token[:-4] + "AAAA"}
    )
    assert wrong_secret.status_code == 401
