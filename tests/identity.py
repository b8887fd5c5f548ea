"""Real identities for tests (`devstack/identities.py`): users created in the real Keycloak of
the test stack, signed in through its token endpoint. Nothing here issues a token itself.

`bearer(organisation, roles, ...)` gives request headers that resolve to a real access token
when a request is sent (so test modules can keep header constants), once the session's
`identities` fixture has connected to the provider.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from devstack.identities import PASSWORD, REALM, STAFF, TEST_CLIENT, Identities, Identity

__all__ = ["PASSWORD", "REALM", "STAFF", "TEST_CLIENT", "Identities", "Identity", "bearer"]

_active: Identities | None = None


def activate(identities: Identities | None) -> None:
    global _active
    _active = identities


def active() -> Identities:
    if _active is None:
        raise RuntimeError("no identity provider yet: use the make_settings or identities fixture")
    return _active


class BearerHeaders(Mapping[str, str]):
    """Request headers carrying a real token for `identity`, fetched when first sent."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity

    def _resolved(self) -> dict[str, str]:
        return active().headers(self.identity)

    def __getitem__(self, key: str) -> str:
        return self._resolved()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._resolved())

    def __len__(self) -> int:
        return 1

    def __or__(self, other: Mapping[str, str]) -> dict[str, str]:  # type: ignore[override]
        return {**self._resolved(), **other}


def bearer(
    organisation: str,
    roles: Sequence[str] = STAFF,
    teams: Sequence[str] = (),
    caseworker_id: str | None = None,
) -> BearerHeaders:
    return BearerHeaders(Identity(organisation, tuple(roles), tuple(teams), caseworker_id))
