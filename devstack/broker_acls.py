"""The broker's principals and ACLs, applied from the access table (`shared/broker_access.py`).

Principals get SCRAM-SHA-512 credentials when the local broker's storage is formatted
(`KafkaServer`); here the admin principal creates the ACLs through the Kafka protocol's
CreateAcls request (one request for all of them), so no JVM tool has to start.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest_v1, DescribeAclsRequest
from aiokafka.protocol.api import Request

from shared.broker_access import (
    ADMIN_PRINCIPAL,
    SERVICE_ACCESS,
    AccessTable,
    Grant,
    partner_principal,
    service_principal,
)
from shared.kafka import ensure_topics, settings_security
from shared.settings import HearthSettings

# Kafka's wire codes (org.apache.kafka.common.acl / resource).
_RESOURCE = {"topic": 2, "group": 3}
_PATTERN = {False: 3, True: 4}  # LITERAL, PREFIXED
_OPERATION = {"read": 3, "write": 4, "create": 5, "delete": 6, "describe": 8}
_ALLOW = 3
# The partners the local stack knows (the demo's housing association and a test landlord).
LOCAL_PARTNERS = ("derby-homes", "test-landlord")


def local_principals() -> list[str]:
    """Every principal the local broker is formatted with."""
    return [
        ADMIN_PRINCIPAL,
        *(service_principal(s) for s in SERVICE_ACCESS),
        *(partner_principal(p) for p in LOCAL_PARTNERS),
    ]


def new_credentials() -> dict[str, str]:
    return {principal: secrets.token_urlsafe(24) for principal in local_principals()}


class _CreateAcls(Request[CreateAclsRequest_v1]):
    API_KEY = 30

    def __init__(self, grants: list[Grant]) -> None:
        self.grants = grants

    def build(self, request_struct_class: type[Any]) -> CreateAclsRequest_v1:
        return CreateAclsRequest_v1(
            [
                (
                    _RESOURCE[g.resource],
                    g.name,
                    _PATTERN[g.prefixed],
                    f"User:{g.principal}",
                    "*",
                    _OPERATION[g.operation],
                    _ALLOW,
                )
                for g in self.grants
            ]
        )


async def apply_acls(admin_settings: HearthSettings) -> int:
    """As the admin principal, create every ACL of the access table for the settings' topic
    prefix and partners (creating one again is harmless)."""
    partners = tuple(admin_settings.partner_organisations)
    grants = AccessTable(admin_settings.topic_prefix, partners=partners).grants()
    admin = AIOKafkaAdminClient(
        bootstrap_servers=admin_settings.kafka, **settings_security(admin_settings)
    )
    await admin.start()
    try:
        response = await admin._send_request(_CreateAcls(grants))
        failed = [(code, text) for code, text in response.creation_responses if code]
        if failed:
            raise RuntimeError(f"creating ACLs failed: {failed[:3]}")
        await _until_enforced(admin, grants[-1])
    finally:
        await admin.close()
    return len(grants)


async def _until_enforced(admin: AIOKafkaAdminClient, grant: Grant, timeout: float = 30) -> None:
    """ACLs are committed by the controller and reach the broker's authorizer a moment later;
    wait until the broker lists the last one, so the principals can act at once."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await admin._send_request(
            DescribeAclsRequest(
                _RESOURCE[grant.resource],
                grant.name,
                _PATTERN[grant.prefixed],
                f"User:{grant.principal}",
                "*",
                _OPERATION[grant.operation],
                _ALLOW,
            )
        )
        if response.resources:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"the broker did not enforce the ACLs within {timeout} s")
        await asyncio.sleep(0.1)


def prepare_broker(env: dict[str, str]) -> None:
    """As the admin principal, for the platform `env` describes: create its topics (services
    may create only their own) and the ACLs of every principal."""
    settings = HearthSettings(
        **{
            "kafka": env["HEARTH_KAFKA"],
            "kafka_username": env["HEARTH_KAFKA_USERNAME"],
            "kafka_password": env["HEARTH_KAFKA_PASSWORD"],
            "kafka_sasl_mechanism": env.get("HEARTH_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
            "topic_prefix": env.get("HEARTH_TOPIC_PREFIX", "hearth."),
            "partner_organisations": json.loads(env.get("HEARTH_PARTNER_ORGANISATIONS", "[]")),
        }
    )

    async def prepare() -> None:
        await ensure_topics(settings)
        await apply_acls(settings)

    # Its own thread and loop: callers may already run a loop (the benchmark does).
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, prepare()).result()


if __name__ == "__main__":
    # docker-compose's broker-init (and an operator onboarding a partner): topics and ACLs
    # for the platform the HEARTH_* environment describes, as its admin principal.
    prepare_broker(dict(os.environ))
    print("broker topics and ACLs in place")
