"""Real identities in the real identity provider of the local stack: users created through
Keycloak's admin API, signed in through its token endpoint. Nothing here issues a token.
Used by the tests, the benchmark and anything else that needs callers of many kinds."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from devstack.keycloak_admin import KeycloakAdmin

REALM = "hearth"
TEST_CLIENT = "hearth-cli"
PASSWORD = "test-password-1"

# A test's default caller: everything an organisation's staff may do except read the audit.
STAFF: tuple[str, ...] = ("service-manager", "income-officer", "organisation-admin")


@dataclass(frozen=True)
class Identity:
    organisation: str
    roles: tuple[str, ...] = STAFF
    teams: tuple[str, ...] = ()
    caseworker_id: str | None = None

    @property
    def username(self) -> str:
        # "test." first: never the name of a demo user (`<organisation>.<role>`, whose
        # password the demo and its tests rely on) in a stack both use.
        parts = ["test", self.organisation, *sorted(self.roles), *sorted(self.teams)]
        if self.caseworker_id:
            parts.append(f"cw-{self.caseworker_id}")
        return ".".join(parts).lower()[:200]


class Identities:
    """Creates each identity once per session and caches its token (the test client's
    tokens live an hour)."""

    def __init__(self, admin: KeycloakAdmin) -> None:
        self.admin = admin
        self._tokens: dict[Identity, str] = {}
        self._lock = threading.Lock()

    def token(self, identity: Identity) -> str:
        with self._lock:
            if identity not in self._tokens:
                self.admin.ensure_user(
                    identity.username,
                    PASSWORD,
                    organisation=identity.organisation,
                    roles=list(identity.roles),
                    teams=list(identity.teams),
                    caseworker_id=identity.caseworker_id,
                )
                self._tokens[identity] = self.admin.password_token(
                    REALM, TEST_CLIENT, identity.username, PASSWORD
                )
            return self._tokens[identity]

    def fresh_token(self, identity: Identity) -> str:
        """A new token, not the cached one (after the provider rotated its keys)."""
        self.token(identity)
        return self.admin.password_token(REALM, TEST_CLIENT, identity.username, PASSWORD)

    def other_realm_token(self) -> str:
        """A token of another realm of the same provider: same client, same claims, but
        another issuer and other keys."""
        realm = "elsewhere"
        self.admin.create_realm(realm)
        self.admin.ensure_user(
            "intruder", PASSWORD, organisation="derby-council", roles=[], realm=realm
        )
        return self.admin.password_token(realm, TEST_CLIENT, "intruder", PASSWORD)

    def headers(self, identity: Identity) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(identity)}"}
