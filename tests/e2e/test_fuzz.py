"""Every HTTP API fuzzed from its own OpenAPI document (schemathesis): no input gets a 5xx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devstack.platform import API_SERVICES, Platform
from tests.identity import STAFF, Identities, Identity

pytestmark = pytest.mark.integration

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.mark.parametrize("service", API_SERVICES)
def test_no_input_makes_a_service_fail(
    all_services: Platform, identities: Identities, service: str
) -> None:
    process = all_services.services[service]
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{process.url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "25",
            "--generation-deterministic",
            "--header",
            f"Authorization: Bearer {identities.token(Identity('derby-council', STAFF))}",
            "--phases",
            "examples,coverage,fuzzing",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=all_services.log_dir,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
