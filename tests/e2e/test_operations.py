"""Operations: every service answers health and metrics, and runs as several replicas."""

from __future__ import annotations

import httpx
import pytest

from devstack.platform import Platform, available_services

pytestmark = pytest.mark.integration


def test_every_service_is_ready_and_exposes_metrics(all_services: Platform) -> None:
    assert all_services.services, "no service has an entry point"
    for name, process in all_services.services.items():
        if name == "web":
            continue  # no API of its own: see the next test
        ready = httpx.get(f"{process.url}/health/ready", timeout=5).json()
        assert ready == {"status": "ok", "checks": {"database": True, "broker": True}}, name
        # Metrics on their own port only, never on the public one.
        assert httpx.get(f"{process.url}/metrics", timeout=5).status_code == 404, name
        metrics = httpx.get(process.metrics_url, timeout=5).text
        assert "hearth_messages_handled_total" in metrics, name
        docs = httpx.get(f"{process.url}/openapi.json", timeout=5).json()
        assert any(path.startswith("/v1/") for path in docs["paths"]), name


def test_the_web_app_is_ready_and_exposes_metrics(all_services: Platform) -> None:
    web = all_services.services["web"]
    ready = httpx.get(f"{web.url}/health/ready", timeout=5).json()
    assert ready == {"status": "ok", "checks": {"database": True, "identity_provider": True}}
    assert httpx.get(f"{web.url}/metrics", timeout=5).status_code == 404
    httpx.get(f"{web.url}/", timeout=5)  # a page (a redirect to sign in) is counted
    assert "hearth_web_page_seconds" in httpx.get(web.metrics_url, timeout=5).text
    # It holds no broker credentials: it never touches Kafka.
    assert "HEARTH_KAFKA_USERNAME" not in _environment(web.process.pid if web.process else 0)


def _environment(pid: int) -> str:
    with open(f"/proc/{pid}/environ", "rb") as env:
        return env.read().decode(errors="replace")


def test_a_service_runs_as_two_replicas(platform: Platform) -> None:
    services = available_services()
    if not services:
        pytest.skip("no service yet")
    first = platform.start_service(services[0])
    second = platform.start_service(services[0], replica=1)
    platform.wait_healthy(timeout=90)
    for process in (first, second):
        assert httpx.get(f"{process.url}/health/ready", timeout=5).status_code == 200
