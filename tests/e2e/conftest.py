"""End-to-end: every service as its own process, exactly as operators run them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.platform import Platform, available_services
from devstack.provision import Infrastructure
from devstack.servers import free_port
from devstack.sinks import MailSink, ProviderSink
from shared.settings import HearthSettings
from tests.identity import Identities, bearer

NOTIFY_KEY = "hearth_e2e-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0"


@pytest.fixture
def mail() -> Iterator[MailSink]:
    sink = MailSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def provider() -> Iterator[ProviderSink]:
    sink = ProviderSink().start()
    yield sink
    sink.stop()


def platform_env(
    infra: Infrastructure, namespace: str, log_dir: Path, mail_port: int, provider_url: str
) -> dict[str, str]:
    """The services' settings for one platform of the end-to-end tests: its own topics and
    databases (`namespace`), mail and Notify sinks, fast sweeps and timers."""
    return {
        **os.environ,
        "HEARTH_CLOCK_OFFSET_FILE": str(log_dir / "clock-offset"),
        "HEARTH_SMTP_HOST": "127.0.0.1",
        "HEARTH_SMTP_PORT": str(mail_port),
        "HEARTH_NOTIFY_URL": provider_url,
        "HEARTH_NOTIFY_API_KEY": NOTIFY_KEY,
        "HEARTH_WEBHOOK_ALLOW_LOOPBACK": "true",  # the sinks listen on 127.0.0.1
        "HEARTH_DELIVERY_BACKOFF_SECONDS": "0.5",
        "HEARTH_KAFKA": infra.kafka,
        **infra.kafka_env,
        "HEARTH_PARTNER_ORGANISATIONS": '["derby-homes", "test-landlord"]',
        "HEARTH_MONGO_URL": infra.mongo_url,
        "HEARTH_TOPIC_PREFIX": f"{namespace}.",
        "HEARTH_TOPIC_PARTITIONS": "3",
        "HEARTH_OIDC_ISSUER": infra.oidc_issuer,
        "HEARTH_AUDIT_CHAIN_KEY": f"e2e-{namespace}",
        "HEARTH_LOG_JSON": "true",
        "HEARTH_OUTBOX_SWEEP_SECONDS": "0.5",
        "HEARTH_SCHEDULER_INTERVAL_SECONDS": "0.5",
    }


@pytest.fixture
def platform(
    infra: Infrastructure, identities: Identities, mail: MailSink, provider: ProviderSink
) -> Iterator[Platform]:
    namespace = f"e{uuid.uuid4().hex[:8]}"
    log_dir = Path(tempfile.mkdtemp(prefix="hearth-e2e-"))
    env = platform_env(infra, namespace, log_dir, mail.port, provider.url)
    running = Platform(env, log_dir, database_prefix=namespace)
    try:
        yield running
    finally:
        running.stop()
        if os.environ.get("HEARTH_E2E_KEEP_LOGS"):
            print(f"service logs kept in {log_dir}")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)


@pytest.fixture
def all_services(platform: Platform) -> Platform:
    for name in available_services():
        platform.start_service(name)
    platform.wait_healthy(timeout=90)
    return platform


@pytest.fixture
def e2e_settings(platform: Platform) -> HearthSettings:
    """Settings of a client of the running platform (same broker, database and topic prefix)."""
    return HearthSettings(
        service_name="e2e-client",
        kafka=platform.env["HEARTH_KAFKA"],
        kafka_username=platform.env["HEARTH_KAFKA_USERNAME"],
        kafka_password=platform.env["HEARTH_KAFKA_PASSWORD"],
        mongo_url=platform.env["HEARTH_MONGO_URL"],
        topic_prefix=platform.env["HEARTH_TOPIC_PREFIX"],
        topic_partitions=3,
        log_json=False,
    )


class Api:
    """HTTP to the running services, as one organisation's staff (a real signed-in user)."""

    def __init__(self, platform: Platform, organisation: str) -> None:
        self.platform = platform
        self.headers = dict(bearer(organisation))

    def url(self, service: str, path: str) -> str:
        return f"{self.platform.services[service].url}/v1{path}"

    def get(self, service: str, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url(service, path), headers=self.headers, timeout=30, **kw)

    def post(self, service: str, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return httpx.post(
            self.url(service, path), json=body, headers=self.headers, timeout=30, **kw
        )

    def put(self, service: str, path: str, body: Any = None) -> httpx.Response:
        return httpx.put(self.url(service, path), json=body, headers=self.headers, timeout=30)


@pytest.fixture
def derby(platform: Platform) -> Api:
    return Api(platform, "derby-council")


@pytest.fixture
def leeds(platform: Platform) -> Api:
    return Api(platform, "leeds-council")


@pytest.fixture
def landlord(platform: Platform) -> Api:
    return Api(platform, "derby-homes")


def move_clock(platform: Platform, ahead: timedelta) -> None:
    """Every service process reads this file (HEARTH_CLOCK_OFFSET_FILE) for its clock."""
    target = Path(platform.env["HEARTH_CLOCK_OFFSET_FILE"])
    partial = target.with_suffix(".partial")
    partial.write_text(str(ahead.total_seconds()))
    partial.replace(target)  # atomic: a service never reads a half-written offset


# --- one platform per module (the fault tests) ---------------------------------------------


# An SMTP server in a process of its own that accepts every message and keeps none: a module
# that sends thousands of emails and reads what was sent from Kafka would otherwise spend the
# test process's time (and its GIL, which its Kafka reader needs) on receiving them.
DISCARDING_SMTP = """
import sys, time
from aiosmtpd.controller import Controller

class Discard:
    async def handle_DATA(self, server, session, envelope):
        return "250 Message accepted"

Controller(Discard(), hostname="127.0.0.1", port=int(sys.argv[1])).start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"""


@pytest.fixture(scope="module")
def module_mail_port() -> Iterator[int]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", DISCARDING_SMTP, str(port)],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
        yield port
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture(scope="module")
def module_provider() -> Iterator[ProviderSink]:
    sink = ProviderSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def module_platform(
    infra: Infrastructure,
    identities: Identities,
    module_mail_port: int,
    module_provider: ProviderSink,
    request: pytest.FixtureRequest,
) -> Iterator[Platform]:
    """Every service started once and shared by a module's tests (each test then keeps to its
    own organisations and tenancies). A module adds or overrides environment settings with a
    module-level `PLATFORM_ENV` dict."""
    namespace = f"m{uuid.uuid4().hex[:8]}"
    log_dir = Path(tempfile.mkdtemp(prefix="hearth-e2e-"))
    env = {
        **platform_env(infra, namespace, log_dir, module_mail_port, module_provider.url),
        **getattr(request.module, "PLATFORM_ENV", {}),
    }
    running = Platform(env, log_dir, database_prefix=namespace)
    try:
        for name in available_services():
            running.start_service(name)
        running.wait_healthy(timeout=120)
        yield running
    finally:
        running.stop()
        if os.environ.get("HEARTH_E2E_KEEP_LOGS"):
            print(f"service logs kept in {log_dir}")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def module_settings(module_platform: Platform) -> HearthSettings:
    """Settings of a client of the module's platform (same broker, database, topic prefix)."""
    return HearthSettings(
        service_name="e2e-client",
        kafka=module_platform.env["HEARTH_KAFKA"],
        kafka_username=module_platform.env["HEARTH_KAFKA_USERNAME"],
        kafka_password=module_platform.env["HEARTH_KAFKA_PASSWORD"],
        mongo_url=module_platform.env["HEARTH_MONGO_URL"],
        topic_prefix=module_platform.env["HEARTH_TOPIC_PREFIX"],
        topic_partitions=3,
        log_json=False,
    )
