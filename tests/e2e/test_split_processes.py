"""A service split as operators run it (docs/LANES.md, "Lanes in processes"): an interactive
process serving the API and a bulk process, with its own log, answering health and metrics
only, at a lower CPU priority, each running only its own consumer groups."""

from __future__ import annotations

import json

import httpx
import pytest

from devstack.platform import Platform, ServiceProcess

pytestmark = pytest.mark.integration


def niceness(process: ServiceProcess) -> int:
    assert process.process is not None
    with open(f"/proc/{process.process.pid}/stat") as stat:
        # Fields after the command's closing parenthesis; nice is the 19th of the whole line.
        return int(stat.read().rsplit(")", 1)[1].split()[16])


def started_groups(process: ServiceProcess) -> list[str]:
    for line in process.log_path.read_text().splitlines():
        if '"service.started"' in line:
            return list(json.loads(line)["consumers"])
    raise AssertionError(f"no service.started in {process.log_path}")


def test_a_split_service_runs_its_lanes_in_two_processes(platform: Platform) -> None:
    interactive, bulk = platform.start_split("referral")
    platform.wait_healthy(timeout=90)
    assert platform.services["referral"] is interactive
    assert platform.services["referral-bulk"] is bulk
    assert bulk.log_path.name == "referral-bulk.log"
    for process in (interactive, bulk):
        ready = httpx.get(f"{process.url}/health/ready", timeout=5).json()
        assert ready == {"status": "ok", "checks": {"database": True, "broker": True}}
        assert "hearth_messages_handled_total" in httpx.get(process.metrics_url, timeout=5).text
    # The API is the interactive process's (no token: refused, not missing); none on the bulk.
    assert httpx.get(f"{interactive.url}/v1/referrals", timeout=5).status_code == 401
    assert httpx.get(f"{bulk.url}/v1/referrals", timeout=5).status_code == 404
    assert (niceness(interactive), niceness(bulk)) == (0, 10)
    prefix = platform.env["HEARTH_TOPIC_PREFIX"]
    assert sorted(started_groups(interactive)) == [f"{prefix}referral", f"{prefix}referral-privacy"]
    assert sorted(started_groups(bulk)) == [
        f"{prefix}referral-arrears",
        f"{prefix}referral-arrears.bulk",
        f"{prefix}referral.bulk",
    ]
