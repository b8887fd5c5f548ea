"""Test fixtures: the real broker and database for everything that crosses a boundary."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from devstack.keycloak_admin import KeycloakAdmin
from devstack.provision import Infrastructure, provide_infrastructure
from shared.kafka import client_security
from shared.mongo import Database, make_mongo_client
from shared.settings import HearthSettings
from tests.identity import Identities, activate
from tests.tenancies import TENANCY_ID_KEY

QUARANTINE_KEY = "test-1:hearth-test-quarantine-key-0123456789abcdef"


@pytest.fixture(scope="session")
def infra() -> Iterator[Infrastructure]:
    with provide_infrastructure("tests") as infrastructure:
        yield infrastructure


@pytest.fixture(scope="session")
def identities(infra: Infrastructure) -> Iterator[Identities]:
    """Real users in the real identity provider; header constants resolve through it."""
    found = Identities(KeycloakAdmin(infra.keycloak_url, *infra.keycloak_admin))
    activate(found)
    yield found
    activate(None)


@pytest.fixture
def namespace() -> str:
    """Unique per test: its own topics, consumer groups and databases on the shared servers."""
    return f"t{uuid.uuid4().hex[:10]}."


def delete_namespace_topics(infra: Infrastructure, namespace: str) -> None:
    """Delete a finished test's topics. Every partition holds open files in the broker, and a
    whole suite's worth (tens of thousands) would run it out of file descriptors."""

    async def delete() -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=infra.kafka,
            **client_security(infra.kafka_username, infra.kafka_password),
        )
        await admin.start()
        try:
            names = [t for t in await admin.list_topics() if t.startswith(namespace)]
            if names:
                await admin.delete_topics(names)
        finally:
            await admin.close()

    def run() -> None:
        try:
            asyncio.run(delete())
        except Exception as exc:  # cleanup only: a test's verdict never depends on it
            print(f"topics of {namespace} not deleted: {exc!r}")

    # Its own thread and loop: the test's event loop may still be open at teardown.
    worker = threading.Thread(target=run)
    worker.start()
    worker.join(60)


@pytest.fixture
def make_settings(
    infra: Infrastructure, namespace: str, identities: Identities
) -> Iterator[Callable[..., HearthSettings]]:
    def factory(service_name: str, **overrides: Any) -> HearthSettings:
        values: dict[str, Any] = {
            "service_name": service_name,
            "kafka": infra.kafka,
            "kafka_username": infra.kafka_username,
            "kafka_password": infra.kafka_password,
            "partner_organisations": [],
            # The person-matching HMAC key (a deployment secret; fixed for tests).
            "person_match_keys": ["test-1:hearth-test-person-matching-key-0123456789"],
            # The key sealing dead letters in quarantine (a deployment secret; fixed for tests).
            "quarantine_keys": [QUARANTINE_KEY],
            # The key tenancy ids are made with (a deployment secret; fixed for tests).
            "tenancy_id_key": TENANCY_ID_KEY,
            # The key of the H-CLIC return's case identifiers (a deployment secret; fixed).
            "hclic_case_ref_key": "test-hclic-case-ref-key-0123456789abcdef",
            "mongo_url": infra.mongo_url,
            "mongo_db": f"{namespace.rstrip('.')}_{service_name}",
            "topic_prefix": namespace,
            "topic_partitions": 3,
            "log_json": False,
            "retry_backoff_seconds": 0.01,
            "scheduler_interval_seconds": 0.2,
            "outbox_sweep_seconds": 0.2,
            "oidc_issuer": infra.oidc_issuer,
            "audit_chain_key": f"test-chain-key-{namespace}",
        }
        values.update(overrides)
        return HearthSettings(**values)

    yield factory
    delete_namespace_topics(infra, namespace)


class TopicReader:
    """Reads a topic from the beginning, for assertions on what was really published."""

    def __init__(self, infra: Infrastructure, topic: str) -> None:
        self.consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=infra.kafka,
            **client_security(infra.kafka_username, infra.kafka_password),
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.records: list[Any] = []

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    async def read_until(
        self, predicate: Callable[[list[Any]], bool], timeout: float = 30.0
    ) -> list[Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self.records):
            if loop.time() > deadline:
                raise AssertionError(f"timed out; read {len(self.records)} records")
            batch = await self.consumer.getmany(timeout_ms=200)
            for records in batch.values():
                self.records.extend(records)
        return self.records

    async def settle(self, seconds: float = 1.0) -> list[Any]:
        """Keep reading for a while, to prove nothing more arrives."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            batch = await self.consumer.getmany(timeout_ms=100)
            for records in batch.values():
                self.records.extend(records)
        return self.records


@pytest.fixture
async def scratch_db(make_settings: Callable[..., HearthSettings]) -> AsyncIterator[Database]:
    """A database of the test's own on the real server, for tests of the database layer
    itself; dropped afterwards."""
    settings = make_settings("scratch")
    client = make_mongo_client(settings)
    yield client[settings.database_name]
    await client.drop_database(settings.database_name)
    await client.close()


@pytest.fixture
async def topic_reader(infra: Infrastructure) -> AsyncIterator[Callable[[str], Any]]:
    readers: list[TopicReader] = []

    async def open_reader(topic: str) -> TopicReader:
        reader = TopicReader(infra, topic)
        await reader.start()
        readers.append(reader)
        return reader

    yield open_reader
    for reader in readers:
        await reader.stop()
