"""Tenancy ids as the referral service makes them in tests: keyed with the tests' own
`HEARTH_TENANCY_ID_KEY` (`make_settings` sets it), so a test can name the id of a reference."""

from __future__ import annotations

from shared.ids import tenancy_id

TENANCY_ID_KEY = "hearth-test-tenancy-id-key-0123456789abcdef"


def tenancy_of(organisation: str, reference: str) -> str:
    """The id the referral service gives `organisation`'s tenancy `reference`."""
    return tenancy_id(organisation, reference, key=TENANCY_ID_KEY)
