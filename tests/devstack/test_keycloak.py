"""The identity provider of the test stack: a real Keycloak with the realm `hearth`
(devstack/resources/keycloak/hearth-realm.json), and the claims its tokens carry, which are
what every Hearth API verifies."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from devstack.keycloak_admin import REALM_FILE, KeycloakAdmin, KeycloakError
from devstack.provision import Infrastructure

pytestmark = pytest.mark.integration

REALM = json.loads(REALM_FILE.read_text())
DEMO_PASSWORD = "hearth-demo"
CLI = "hearth-cli"
HEARTH_ROLES = {
    "caseworker",
    "team-leader",
    "service-manager",
    "income-officer",
    "organisation-admin",
    "auditor",
    "data-protection-officer",
    "arrears-feed",
    "referral-partner",
}
DEMO_USERS = [u for u in REALM["users"] if "serviceAccountClientId" not in u]


@pytest.fixture(scope="module")
def admin(infra: Infrastructure) -> Iterator[KeycloakAdmin]:
    with KeycloakAdmin(infra.keycloak_url, *infra.keycloak_admin) as client:
        yield client


def verified(infra: Infrastructure, token: str, issuer: str | None = None) -> dict[str, Any]:
    """The token's claims, once its RS256 signature checks against the realm's published keys,
    its issuer is the realm's and its audience hearth-api (what the services check)."""
    issuer = issuer or infra.oidc_issuer
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    jwks_uri = httpx.get(f"{issuer}/.well-known/openid-configuration").json()["jwks_uri"]
    key = jwt.PyJWKClient(jwks_uri, cache_keys=False).get_signing_key_from_jwt(token)
    return jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience="hearth-api",
        issuer=issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )


def audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims["aud"]
    return [aud] if isinstance(aud, str) else list(aud)


def test_the_discovery_document_names_the_issuer(infra: Infrastructure) -> None:
    assert infra.oidc_issuer == f"{infra.keycloak_url}/realms/hearth"
    discovery = httpx.get(f"{infra.oidc_issuer}/.well-known/openid-configuration")
    assert discovery.status_code == 200
    document = discovery.json()
    assert document["issuer"] == infra.oidc_issuer
    assert document["jwks_uri"].startswith(infra.oidc_issuer)
    assert "RS256" in document["id_token_signing_alg_values_supported"]
    keys = httpx.get(document["jwks_uri"]).json()["keys"]
    assert any(k["alg"] == "RS256" and k["use"] == "sig" for k in keys)


def test_a_caseworkers_password_token_carries_the_contract(
    infra: Infrastructure, admin: KeycloakAdmin
) -> None:
    token = admin.password_token("hearth", CLI, "derby-council.caseworker", DEMO_PASSWORD)
    claims = verified(infra, token)
    assert claims["iss"] == infra.oidc_issuer
    assert "hearth-api" in audiences(claims)
    assert claims["organisation"] == "derby-council"
    assert claims["roles"] == ["caseworker"]
    assert claims["teams"] == ["derby-tenancy-support"]  # an array, even of one
    assert claims["caseworker_id"] == "jo"
    assert claims["preferred_username"] == "derby-council.caseworker"
    assert claims["name"] == "Jo Brennan"
    assert claims["azp"] == CLI
    assert claims["sub"]
    assert claims["exp"] - claims["iat"] == 3600  # hearth-cli's own lifespan
    # Only Hearth's roles reach the token, never Keycloak's default ones.
    assert "realm_access" not in claims and "resource_access" not in claims


def test_users_without_teams_or_caseload_carry_no_such_claims(
    infra: Infrastructure, admin: KeycloakAdmin
) -> None:
    claims = verified(
        infra, admin.password_token("hearth", CLI, "derby-homes.income-officer", DEMO_PASSWORD)
    )
    assert claims["organisation"] == "derby-homes"
    assert claims["roles"] == ["income-officer"]
    assert "teams" not in claims
    assert "caseworker_id" not in claims


@pytest.mark.parametrize("user", DEMO_USERS, ids=[u["username"] for u in DEMO_USERS])
def test_every_demo_user_signs_in_with_their_attributes(
    infra: Infrastructure, admin: KeycloakAdmin, user: dict[str, Any]
) -> None:
    claims = verified(infra, admin.password_token("hearth", CLI, user["username"], DEMO_PASSWORD))
    attributes = user["attributes"]
    assert claims["preferred_username"] == user["username"]
    assert claims["organisation"] == attributes["organisation"][0]
    assert claims["roles"] == user["realmRoles"]
    assert claims.get("teams") == attributes.get("teams")
    assert claims.get("caseworker_id") == (attributes.get("caseworker_id") or [None])[0]
    assert claims["name"] == f"{user['firstName']} {user['lastName']}"


def test_the_demo_covers_every_role_in_each_organisation() -> None:
    by_organisation: dict[str, set[str]] = {}
    for user in DEMO_USERS:
        organisation = user["attributes"]["organisation"][0]
        by_organisation.setdefault(organisation, set()).update(user["realmRoles"])
    council = {"caseworker", "team-leader", "service-manager", "organisation-admin", "auditor"}
    council.add("data-protection-officer")
    landlord = {"income-officer", "service-manager", "organisation-admin", "auditor"}
    assert by_organisation == {
        "derby-council": council,
        "leeds-council": council,
        "derby-homes": landlord | {"data-protection-officer"},
    }
    assert {r["name"] for r in REALM["roles"]["realm"]} == HEARTH_ROLES


@pytest.mark.parametrize(
    ("client_id", "organisation", "role"),
    [
        ("derby-homes-arrears-feed", "derby-homes", "arrears-feed"),
        ("probation-east-referrals", "probation-east", "referral-partner"),
    ],
)
def test_a_machine_clients_token_carries_the_contract(
    infra: Infrastructure, admin: KeycloakAdmin, client_id: str, organisation: str, role: str
) -> None:
    token = admin.client_credentials_token("hearth", client_id, f"{client_id}-demo-secret")
    claims = verified(infra, token)
    assert claims["iss"] == infra.oidc_issuer
    assert "hearth-api" in audiences(claims)
    assert claims["organisation"] == organisation
    assert claims["roles"] == [role]
    assert claims["azp"] == client_id
    assert claims["preferred_username"] == f"service-account-{client_id}"
    assert claims["exp"] - claims["iat"] == 300  # the realm's lifespan
    assert "teams" not in claims and "caseworker_id" not in claims


def test_machine_clients_and_the_web_client_refuse_the_password_grant(
    admin: KeycloakAdmin,
) -> None:
    with pytest.raises(KeycloakError, match="unauthorized_client"):
        admin.password_token(
            "hearth",
            "hearth-web",
            "derby-council.caseworker",
            DEMO_PASSWORD,
            "hearth-web-demo-secret",
        )
    with pytest.raises(KeycloakError, match="unauthorized_client"):
        admin.password_token(
            "hearth",
            "derby-homes-arrears-feed",
            "derby-council.caseworker",
            DEMO_PASSWORD,
            "derby-homes-arrears-feed-demo-secret",
        )
    with pytest.raises(KeycloakError, match=r"HTTP 401 .*unauthorized_client"):
        admin.client_credentials_token("hearth", "derby-homes-arrears-feed", "wrong-secret")


# -- the admin helpers the tests build on (in a realm of their own: nothing here touches the
#    shared realm's keys or users) -------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch_realm(admin: KeycloakAdmin) -> Iterator[str]:
    name = f"scratch-{uuid.uuid4().hex[:8]}"
    admin.create_realm(name)
    admin.create_realm(name)  # a second time changes nothing
    yield name
    admin.delete_realm(name)


def test_another_realm_issues_its_own_tokens(
    infra: Infrastructure, admin: KeycloakAdmin, scratch_realm: str
) -> None:
    token = admin.password_token(scratch_realm, CLI, "derby-council.caseworker", DEMO_PASSWORD)
    issuer = f"{infra.keycloak_url}/realms/{scratch_realm}"
    claims = verified(infra, token, issuer=issuer)
    assert claims["organisation"] == "derby-council"  # same claims, another issuer
    with pytest.raises(jwt.PyJWKClientError):  # and keys the hearth realm never published
        verified(infra, token)


def test_ensure_user_creates_then_updates(
    infra: Infrastructure, admin: KeycloakAdmin, scratch_realm: str
) -> None:
    issuer = f"{infra.keycloak_url}/realms/{scratch_realm}"
    admin.ensure_user(
        "ada",
        "first-password",
        "leeds-council",
        ["caseworker", "team-leader"],
        teams=["leeds-prevention", "leeds-outreach"],
        caseworker_id="ada-1",
        name="Ada Lovelace",
        realm=scratch_realm,
    )
    claims = verified(
        infra, admin.password_token(scratch_realm, CLI, "ada", "first-password"), issuer
    )
    assert claims["organisation"] == "leeds-council"
    assert sorted(claims["roles"]) == ["caseworker", "team-leader"]
    assert claims["teams"] == ["leeds-prevention", "leeds-outreach"]
    assert claims["caseworker_id"] == "ada-1"
    assert claims["name"] == "Ada Lovelace"

    admin.ensure_user("ada", "second-password", "derby-council", ["auditor"], realm=scratch_realm)
    with pytest.raises(KeycloakError, match="invalid_grant"):
        admin.password_token(scratch_realm, CLI, "ada", "first-password")
    claims = verified(
        infra, admin.password_token(scratch_realm, CLI, "ada", "second-password"), issuer
    )
    assert claims["organisation"] == "derby-council"
    assert claims["roles"] == ["auditor"]
    assert "teams" not in claims and "caseworker_id" not in claims and "name" not in claims


def test_a_user_with_no_role_still_gets_the_audience_and_organisation(
    infra: Infrastructure, admin: KeycloakAdmin, scratch_realm: str
) -> None:
    issuer = f"{infra.keycloak_url}/realms/{scratch_realm}"
    admin.ensure_user("nobody", "pw-nobody", "derby-homes", [], realm=scratch_realm)
    claims = verified(
        infra, admin.password_token(scratch_realm, CLI, "nobody", "pw-nobody"), issuer
    )
    assert claims["organisation"] == "derby-homes"
    assert "roles" not in claims  # Keycloak leaves out an empty role list


def test_a_new_role_reaches_tokens(
    infra: Infrastructure, admin: KeycloakAdmin, scratch_realm: str
) -> None:
    issuer = f"{infra.keycloak_url}/realms/{scratch_realm}"
    admin.ensure_realm_role(scratch_realm, "night-shift", "made up for this test")
    admin.ensure_user("owl", "pw-owl", "derby-council", ["night-shift"], realm=scratch_realm)
    claims = verified(infra, admin.password_token(scratch_realm, CLI, "owl", "pw-owl"), issuer)
    assert claims["roles"] == ["night-shift"]


def test_a_new_signing_key_signs_new_tokens(
    infra: Infrastructure, admin: KeycloakAdmin, scratch_realm: str
) -> None:
    issuer = f"{infra.keycloak_url}/realms/{scratch_realm}"
    before = admin.password_token(scratch_realm, CLI, "derby-council.auditor", DEMO_PASSWORD)
    kid = admin.add_generated_rsa_key(scratch_realm, priority=200)
    after = admin.password_token(scratch_realm, CLI, "derby-council.auditor", DEMO_PASSWORD)
    assert jwt.get_unverified_header(before)["kid"] != kid
    assert jwt.get_unverified_header(after)["kid"] == kid
    verified(infra, after, issuer)
    verified(infra, before, issuer)  # the old key is still published


def test_a_client_attribute_takes_effect(
    infra: Infrastructure, admin: KeycloakAdmin, scratch_realm: str
) -> None:
    issuer = f"{infra.keycloak_url}/realms/{scratch_realm}"
    admin.set_client_attribute(scratch_realm, CLI, "access.token.lifespan", "120")
    claims = verified(
        infra,
        admin.password_token(scratch_realm, CLI, "derby-council.auditor", DEMO_PASSWORD),
        issuer,
    )
    assert claims["exp"] - claims["iat"] == 120
