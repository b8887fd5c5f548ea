"""The published contracts (AsyncAPI 3, OpenAPI) under deploy/contracts/ match the code."""

from __future__ import annotations

from devstack.contracts import CONTRACTS_DIR, drifted, generated
from devstack.platform import SERVICES, available_services


def test_every_service_has_an_entry_point() -> None:
    assert available_services() == list(SERVICES)


def test_committed_contracts_match_the_code() -> None:
    stale = [str(path.relative_to(CONTRACTS_DIR)) for path in drifted()]
    assert not stale, f"regenerate with: .venv/bin/python -m devstack.contracts ({stale})"


def test_asyncapi_documents_name_consumer_groups_and_keys() -> None:
    for path, text in generated().items():
        if "asyncapi" in path.parts:
            assert '"asyncapi": "3.0.0"' in text
            assert "groupId" in text or "receive" not in text, path.name
