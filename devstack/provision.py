"""Where the real Kafka, MongoDB-wire database and identity provider come from, in order of
preference:

1. HEARTH_KAFKA and HEARTH_MONGO_URL naming running servers -> used as they are; so is a
   running Keycloak named by HEARTH_OIDC_ISSUER, HEARTH_KEYCLOAK_URL,
   HEARTH_KEYCLOAK_ADMIN_USER and HEARTH_KEYCLOAK_ADMIN_PASSWORD (its realm is imported if it
   is missing), else a local Keycloak is started beside them;
2. a Docker engine that answers -> testcontainers with the real images (Kafka KRaft, MongoDB 7,
   Keycloak 26);
3. otherwise -> the project's own local stack: Apache Kafka and Keycloak from Maven Central and
   FerretDB built from the Go module proxy, started here on free ports.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from devstack.keycloak_admin import HEARTH_REALM, REALM_FILE, KeycloakAdmin, KeycloakError
from devstack.servers import KeycloakServer, wait_for_keycloak
from devstack.stack import LocalStack, data_root
from devstack.toolchain import say

KAFKA_IMAGE = "apache/kafka:4.1.1"
MONGO_IMAGE = "mongo:7.0"
KEYCLOAK_IMAGE = "quay.io/keycloak/keycloak:26.4.7"


@dataclass
class Infrastructure:
    kafka: str
    mongo_url: str
    origin: str  # external | docker | local
    oidc_issuer: str  # <keycloak url>/realms/hearth: what tokens name in `iss`
    keycloak_url: str
    keycloak_admin: tuple[str, str]  # (user, password) of a master-realm admin
    handle: Any = None  # LocalStack when origin is local (fault tests restart its parts)
    # The broker's admin principal (empty: a broker without authentication) and the file of
    # every local principal's password (the platform gives each service its own).
    kafka_username: str = ""
    kafka_password: str = ""
    kafka_credentials_file: str = ""

    @property
    def kafka_env(self) -> dict[str, str]:
        return {
            "HEARTH_KAFKA_USERNAME": self.kafka_username,
            "HEARTH_KAFKA_PASSWORD": self.kafka_password,
            "HEARTH_KAFKA_CREDENTIALS_FILE": self.kafka_credentials_file,
        }


def docker_answers() -> bool:
    if not shutil.which("docker") or os.environ.get("HEARTH_NO_DOCKER"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _provision_realm(url: str, admin: tuple[str, str], issuer: str) -> None:
    """Import the realm unless it exists, then check the issuer answers as named."""
    import httpx

    with KeycloakAdmin(url, *admin) as client:
        client.import_realm(REALM_FILE)
    discovery = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10)
    named = discovery.json().get("issuer") if discovery.status_code == 200 else None
    if named != issuer:
        raise KeycloakError(
            f"HEARTH_OIDC_ISSUER is {issuer}, but Keycloak at {url} names {named!r} "
            f"(the realm file imports the realm {HEARTH_REALM!r})"
        )


@contextmanager
def _external_keycloak(name: str) -> Iterator[tuple[str, str, tuple[str, str]]]:
    """(issuer, url, admin) of the Keycloak named by the environment, or of one started here."""
    issuer = os.environ.get("HEARTH_OIDC_ISSUER")
    url = os.environ.get("HEARTH_KEYCLOAK_URL")
    user = os.environ.get("HEARTH_KEYCLOAK_ADMIN_USER")
    password = os.environ.get("HEARTH_KEYCLOAK_ADMIN_PASSWORD")
    if issuer and url and user and password:
        say(f"using running Keycloak {url} (issuer {issuer})")
        _provision_realm(url, (user, password), issuer)
        yield issuer, url, (user, password)
        return
    say("no running Keycloak named (HEARTH_OIDC_ISSUER, HEARTH_KEYCLOAK_URL, ...): starting one")
    keycloak = KeycloakServer("keycloak", data_root() / f"{name}-keycloak-{os.getpid()}")
    keycloak.start()
    try:
        keycloak.wait_ready()
        yield keycloak.issuer, keycloak.url, (keycloak.admin_user, keycloak.admin_password)
    finally:
        keycloak.stop()
        shutil.rmtree(keycloak.data_dir, ignore_errors=True)


@contextmanager
def _keycloak_container() -> Iterator[tuple[str, str, tuple[str, str]]]:
    """Keycloak's own image in dev mode with an in-memory database. (testcontainers'
    KeycloakContainer needs the python-keycloak package, which Hearth does not use: the
    generic container does the same here.)"""
    import secrets

    from testcontainers.core.container import DockerContainer

    admin = ("admin", secrets.token_urlsafe(18))
    container = (
        DockerContainer(KEYCLOAK_IMAGE)
        .with_env("KC_BOOTSTRAP_ADMIN_USERNAME", admin[0])
        .with_env("KC_BOOTSTRAP_ADMIN_PASSWORD", admin[1])
        .with_env("KC_DB", "dev-mem")
        .with_exposed_ports(8080)
        .with_command("start-dev")
    )
    with container:
        url = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(8080)}"
        wait_for_keycloak(url)
        issuer = f"{url}/realms/{HEARTH_REALM}"
        _provision_realm(url, admin, issuer)
        yield issuer, url, admin


@contextmanager
def provide_infrastructure(name: str = "tests") -> Iterator[Infrastructure]:
    kafka, mongo = os.environ.get("HEARTH_KAFKA"), os.environ.get("HEARTH_MONGO_URL")
    if kafka and mongo:
        say(f"using running servers: Kafka {kafka}, MongoDB {mongo}")
        with _external_keycloak(name) as (issuer, url, admin):
            yield Infrastructure(
                kafka,
                mongo,
                "external",
                oidc_issuer=issuer,
                keycloak_url=url,
                keycloak_admin=admin,
                kafka_username=os.environ.get("HEARTH_KAFKA_USERNAME", ""),
                kafka_password=os.environ.get("HEARTH_KAFKA_PASSWORD", ""),
                kafka_credentials_file=os.environ.get("HEARTH_KAFKA_CREDENTIALS_FILE", ""),
            )
        return
    if docker_answers():
        from testcontainers.community.kafka import KafkaContainer
        from testcontainers.community.mongodb import MongoDbContainer

        say("Docker answers: starting Kafka, MongoDB and Keycloak with testcontainers")
        with (
            KafkaContainer(KAFKA_IMAGE).with_kraft() as kafka_container,
            MongoDbContainer(MONGO_IMAGE) as mongo_container,
            _keycloak_container() as (issuer, url, admin),
        ):
            yield Infrastructure(
                kafka_container.get_bootstrap_server(),
                mongo_container.get_connection_url(),
                "docker",
                oidc_issuer=issuer,
                keycloak_url=url,
                keycloak_admin=admin,
            )
        return
    stack = LocalStack.create(f"{name}-{os.getpid()}")
    stack.start()
    try:
        yield Infrastructure(
            stack.kafka.bootstrap,
            stack.ferretdb.url,
            "local",
            oidc_issuer=stack.keycloak.issuer,
            keycloak_url=stack.keycloak.url,
            keycloak_admin=(stack.keycloak.admin_user, stack.keycloak.admin_password),
            handle=stack,
            kafka_username=stack.env["HEARTH_KAFKA_USERNAME"],
            kafka_password=stack.env["HEARTH_KAFKA_PASSWORD"],
            kafka_credentials_file=stack.env["HEARTH_KAFKA_CREDENTIALS_FILE"],
        )
    finally:
        stack.stop()
        shutil.rmtree(stack.data_dir, ignore_errors=True)
