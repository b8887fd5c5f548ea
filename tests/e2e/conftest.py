"""End-to-end: every service as its own process, exactly as operators run them."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.platform import Platform, available_services
from devstack.provision import Infrastructure
from shared.settings import HearthSettings

API_KEYS = {
    "e2e-derby-council": "derby-council",
    "e2e-leeds-council": "leeds-council",
    "e2e-derby-homes": "derby-homes",
}


@pytest.fixture
def platform(infra: Infrastructure) -> Iterator[Platform]:
    namespace = f"e{uuid.uuid4().hex[:8]}"
    log_dir = Path(tempfile.mkdtemp(prefix="hearth-e2e-"))
    env = {
        **os.environ,
        "HEARTH_KAFKA": infra.kafka,
        "HEARTH_MONGO_URL": infra.mongo_url,
        "HEARTH_TOPIC_PREFIX": f"{namespace}.",
        "HEARTH_TOPIC_PARTITIONS": "3",
        "HEARTH_API_KEYS": json.dumps(API_KEYS),
        "HEARTH_LOG_JSON": "true",
        "HEARTH_OUTBOX_SWEEP_SECONDS": "0.5",
        "HEARTH_SCHEDULER_INTERVAL_SECONDS": "0.5",
    }
    running = Platform(env, log_dir, database_prefix=namespace)
    try:
        yield running
    finally:
        running.stop()
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
        mongo_url=platform.env["HEARTH_MONGO_URL"],
        topic_prefix=platform.env["HEARTH_TOPIC_PREFIX"],
        topic_partitions=3,
        log_json=False,
    )
