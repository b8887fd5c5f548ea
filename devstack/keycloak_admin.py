"""A small synchronous client of Keycloak's admin REST API, and plain token-endpoint calls.

Everything the local stack and the tests need from the identity provider: import the realm,
create users with Hearth's attributes and realm roles, a second unrelated realm, client
attributes, a new signing key. Tokens always come from Keycloak's own token endpoint.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

HEARTH_REALM = "hearth"
REALM_FILE = Path(__file__).parent / "resources" / "keycloak" / "hearth-realm.json"
# Custom user attributes (organisation, teams, caseworker_id) are "unmanaged" in Keycloak's
# user profile: stored and mapped into tokens, editable by admins only, never by the user.
UNMANAGED_ATTRIBUTE_POLICY = "ADMIN_EDIT"


class KeycloakError(RuntimeError):
    pass


def _raise_for(response: httpx.Response, what: str) -> None:
    if response.is_error:
        raise KeycloakError(f"{what}: HTTP {response.status_code} {response.text[:500]}")


class KeycloakAdmin:
    """Admin of one Keycloak server, signed in as a master-realm admin (`admin-cli`, password
    grant). Safe to share between threads."""

    def __init__(self, url: str, username: str, password: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.username = username
        self.password = password
        self._http = httpx.Client(timeout=timeout)
        self._lock = threading.Lock()
        self._token = ""
        self._token_expires = 0.0

    # -- plumbing -----------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KeycloakAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _admin_token(self) -> str:
        with self._lock:
            if time.monotonic() < self._token_expires:
                return self._token
            response = self._http.post(
                f"{self.url}/realms/master/protocol/openid-connect/token",
                data={
                    "grant_type": "password",
                    "client_id": "admin-cli",
                    "username": self.username,
                    "password": self.password,
                },
            )
            _raise_for(response, "admin sign-in to the master realm")
            body = response.json()
            self._token = body["access_token"]
            # Master-realm admin tokens live 60 s; take a new one well before that.
            self._token_expires = time.monotonic() + max(5, int(body["expires_in"]) - 15)
            return self._token

    def _call(
        self, method: str, path: str, what: str, ok: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._admin_token()}"}
        response = self._http.request(method, f"{self.url}/admin{path}", headers=headers, **kwargs)
        if response.status_code not in ok:
            _raise_for(response, what)
        return response

    def _client(self, realm: str, client_id: str) -> dict[str, Any]:
        found = self._call(
            "GET",
            f"/realms/{realm}/clients",
            f"find client {client_id}",
            params={"clientId": client_id},
        ).json()
        if not found:
            raise KeycloakError(f"realm {realm} has no client {client_id}")
        return found[0]  # type: ignore[no-any-return]

    # -- realms -------------------------------------------------------------------------------

    def realm_exists(self, realm: str) -> bool:
        response = self._call("GET", f"/realms/{realm}", f"read realm {realm}", ok=(404,))
        return response.status_code != 404

    def import_realm(self, path: Path | str = REALM_FILE, realm: str | None = None) -> str:
        """Create the realm described by a realm JSON file (its users, clients, roles and
        scopes too), unless a realm of that name exists already; `realm` renames it.
        Returns the realm's name."""
        representation = json.loads(Path(path).read_text())
        if realm:
            representation["realm"] = realm
        name = str(representation["realm"])
        if not self.realm_exists(name):
            # 409: imported meanwhile by someone else, which is as good
            self._call("POST", "/realms", f"import realm {name}", ok=(409,), json=representation)
        self.allow_unmanaged_attributes(name)
        return name

    def create_realm(self, name: str) -> None:
        """A second realm, unrelated to `hearth` (its own keys and issuer) but with the same
        roles, client ids, secrets, claim mappers and demo users, so its tokens differ from
        the real ones only in who issued them. Does nothing if it exists."""
        self.import_realm(REALM_FILE, realm=name)

    def delete_realm(self, realm: str) -> None:
        """Remove a realm and everything in it; nothing happens if there is none."""
        self._call("DELETE", f"/realms/{realm}", f"delete realm {realm}", ok=(404,))

    def allow_unmanaged_attributes(self, realm: str) -> None:
        """Make sure user attributes outside the declared profile are kept (admins edit them):
        the realm file sets this itself; this mends a realm imported some other way."""
        path = f"/realms/{realm}/users/profile"
        profile = self._call("GET", path, f"read the user profile of {realm}").json()
        if profile.get("unmanagedAttributePolicy") != UNMANAGED_ATTRIBUTE_POLICY:
            profile["unmanagedAttributePolicy"] = UNMANAGED_ATTRIBUTE_POLICY
            self._call("PUT", path, f"allow unmanaged attributes in {realm}", json=profile)

    def set_client_attribute(self, realm: str, client_id: str, name: str, value: str) -> None:
        client = self._client(realm, client_id)
        client.setdefault("attributes", {})[name] = value
        self._call(
            "PUT",
            f"/realms/{realm}/clients/{client['id']}",
            f"set {name} on client {client_id}",
            json=client,
        )

    def add_generated_rsa_key(self, realm: str, priority: int) -> str:
        """A new generated RS256 key; with a priority above the realm's others (100 for the
        default one), new tokens are signed with it. Returns its key id (`kid`)."""
        realm_id = self._call("GET", f"/realms/{realm}", f"read realm {realm}").json()["id"]
        name = f"rsa-generated-{priority}-{int(time.time() * 1000)}"
        response = self._call(
            "POST",
            f"/realms/{realm}/components",
            f"add a signing key to {realm}",
            json={
                "name": name,
                "providerId": "rsa-generated",
                "providerType": "org.keycloak.keys.KeyProvider",
                "parentId": realm_id,
                "config": {
                    "priority": [str(priority)],
                    "enabled": ["true"],
                    "active": ["true"],
                    "algorithm": ["RS256"],
                    "keySize": ["2048"],
                },
            },
        )
        component_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
        keys = self._call("GET", f"/realms/{realm}/keys", f"read the keys of {realm}").json()
        for key in keys["keys"]:
            if key.get("providerId") == component_id:
                return str(key["kid"])
        raise KeycloakError(f"the new key of {realm} is not listed: {keys}")

    # -- roles and users ----------------------------------------------------------------------

    def ensure_realm_role(self, realm: str, name: str, description: str = "") -> None:
        """A realm role that reaches tokens: a new role is added to the role scope of every
        client that does not allow the full scope (all of the realm file's clients), as the
        realm file does for Hearth's own roles."""
        path = f"/realms/{realm}/roles"
        exists = self._call("GET", f"{path}/{name}", f"read role {name}", ok=(404,))
        if exists.status_code != 404:
            return
        self._call(
            "POST",
            path,
            f"create role {name}",
            ok=(409,),
            json={"name": name, "description": description},
        )
        role = self._call("GET", f"{path}/{name}", f"read role {name}").json()
        for client in self._call("GET", f"/realms/{realm}/clients", "list clients").json():
            if not client.get("fullScopeAllowed", True):
                self._call(
                    "POST",
                    f"/realms/{realm}/clients/{client['id']}/scope-mappings/realm",
                    f"add role {name} to the scope of {client['clientId']}",
                    json=[role],
                )

    def _find_user(self, realm: str, username: str) -> dict[str, Any] | None:
        found = self._call(
            "GET",
            f"/realms/{realm}/users",
            f"find user {username}",
            params={"username": username, "exact": "true"},
        ).json()
        return found[0] if found else None

    def ensure_user(
        self,
        username: str,
        password: str,
        organisation: str,
        roles: Iterable[str],
        teams: Iterable[str] = (),
        caseworker_id: str | None = None,
        name: str | None = None,
        *,
        realm: str = HEARTH_REALM,
    ) -> None:
        """Create or update a user to exactly this: its password, name ("Given Family"; none
        if not given), Hearth's attributes (`organisation`, `teams`, `caseworker_id`) and these
        realm roles (besides the realm's default role). Missing roles are created."""
        roles = list(dict.fromkeys(roles))
        attributes: dict[str, list[str]] = {"organisation": [organisation]}
        if teams := list(teams):
            attributes["teams"] = teams
        if caseworker_id:
            attributes["caseworker_id"] = [caseworker_id]
        first, _, last = (name or "").partition(" ")
        users = f"/realms/{realm}/users"
        user = self._find_user(realm, username)
        if user is None:
            response = self._call(
                "POST",
                users,
                f"create user {username}",
                ok=(409,),
                json={
                    "username": username,
                    "enabled": True,
                    "firstName": first,
                    "lastName": last,
                    "attributes": attributes,
                    "credentials": [{"type": "password", "value": password, "temporary": False}],
                },
            )
            user = self._find_user(realm, username)
            if user is None:
                raise KeycloakError(f"user {username} not found after creating it: {response.text}")
            if response.status_code == 409:  # created meanwhile by someone else: update it
                self._update_user(realm, user, password, attributes, first, last)
        else:
            self._update_user(realm, user, password, attributes, first, last)
        self._set_realm_roles(realm, user["id"], roles)

    def _update_user(
        self,
        realm: str,
        user: dict[str, Any],
        password: str,
        attributes: dict[str, list[str]],
        first: str,
        last: str,
    ) -> None:
        path = f"/realms/{realm}/users/{user['id']}"
        full = self._call("GET", path, f"read user {user['username']}").json()
        kept = {
            k: v
            for k, v in (full.get("attributes") or {}).items()
            if k not in ("organisation", "teams", "caseworker_id")
        }
        full.update(enabled=True, firstName=first, lastName=last, attributes={**kept, **attributes})
        self._call("PUT", path, f"update user {user['username']}", json=full)
        self._call(
            "PUT",
            f"{path}/reset-password",
            f"set the password of {user['username']}",
            json={"type": "password", "value": password, "temporary": False},
        )

    def _set_realm_roles(self, realm: str, user_id: str, roles: list[str]) -> None:
        for role in roles:
            self.ensure_realm_role(realm, role)
        path = f"/realms/{realm}/users/{user_id}/role-mappings/realm"
        current = {r["name"]: r for r in self._call("GET", path, "read role mappings").json()}
        default_role = f"default-roles-{realm}".lower()
        extra = [r for n, r in current.items() if n not in roles and n != default_role]
        missing = [
            self._call("GET", f"/realms/{realm}/roles/{n}", f"read role {n}").json()
            for n in roles
            if n not in current
        ]
        if extra:
            self._call("DELETE", path, "remove realm roles", json=extra)
        if missing:
            self._call("POST", path, "add realm roles", json=missing)

    # -- tokens (plain token-endpoint calls) --------------------------------------------------

    def _token_request(self, realm: str, form: dict[str, str], what: str) -> str:
        response = self._http.post(
            f"{self.url}/realms/{realm}/protocol/openid-connect/token", data=form
        )
        _raise_for(response, what)
        return str(response.json()["access_token"])

    def password_token(
        self,
        realm: str,
        client_id: str,
        username: str,
        password: str,
        client_secret: str | None = None,
    ) -> str:
        """An access token for a user (resource-owner password grant; `hearth-cli`)."""
        form = {
            "grant_type": "password",
            "client_id": client_id,
            "username": username,
            "password": password,
        }
        if client_secret:
            form["client_secret"] = client_secret
        return self._token_request(realm, form, f"password token for {username} ({client_id})")

    def client_credentials_token(self, realm: str, client_id: str, secret: str) -> str:
        """An access token for a machine client's service account."""
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        return self._token_request(realm, form, f"client-credentials token for {client_id}")
