"""Helpers for benchmark scripts: the real stack, medians, a printed table."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from devstack.provision import Infrastructure, provide_infrastructure
from shared.kafka import client_security
from shared.settings import HearthSettings


@contextmanager
def real_stack() -> Iterator[Infrastructure]:
    with provide_infrastructure("bench") as infrastructure:
        yield infrastructure


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> str:
    cpus = os.cpu_count()
    with open("/proc/meminfo") as meminfo:
        mem_kb = int(meminfo.readline().split()[1])
    return f"{platform.machine()} {cpus} cores, {mem_kb / 1024 / 1024:.0f} GiB, {platform.system()}"


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"\n{title}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def kafka_options(infra: Infrastructure) -> dict[str, Any]:
    """aiokafka's connection options for the admin principal of the benchmark's broker."""
    return {
        "bootstrap_servers": infra.kafka,
        **client_security(infra.kafka_username, infra.kafka_password),
    }


def bench_settings(infra: Infrastructure, prefix: str, **extra: Any) -> HearthSettings:
    """The benchmark's own client settings: its topics and databases under `prefix`."""
    return HearthSettings(
        service_name="bench",
        kafka=infra.kafka,
        kafka_username=infra.kafka_username,
        kafka_password=infra.kafka_password,
        mongo_url=infra.mongo_url,
        topic_prefix=f"{prefix}.",
        **extra,
    )


def services_env(infra: Infrastructure, prefix: str, **extra: str) -> dict[str, str]:
    """The environment the benchmark's service processes run with (devstack.platform)."""
    return {
        **os.environ,
        "HEARTH_KAFKA": infra.kafka,
        **infra.kafka_env,
        "HEARTH_MONGO_URL": infra.mongo_url,
        "HEARTH_TOPIC_PREFIX": f"{prefix}.",
        "HEARTH_OIDC_ISSUER": infra.oidc_issuer,
        "HEARTH_AUDIT_CHAIN_KEY": f"bench-{prefix}",
        "HEARTH_LOG_LEVEL": "WARNING",
        **extra,
    }
