"""The local stack: one Kafka broker, one FerretDB and one Keycloak, started together, stopped
together."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from devstack.broker_acls import LOCAL_PARTNERS
from devstack.servers import FerretDBServer, KafkaServer, KeycloakServer
from devstack.toolchain import prepare_all, say
from shared.broker_access import ADMIN_PRINCIPAL

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    """Data lives in an ignored folder of the checkout, never in the cache."""
    return Path(os.environ.get("HEARTH_DATA_DIR") or REPO_ROOT / ".hearth")


@dataclass
class LocalStack:
    data_dir: Path
    kafka: KafkaServer
    ferretdb: FerretDBServer
    keycloak: KeycloakServer

    @classmethod
    def create(
        cls, name: str, kafka_port: int = 0, mongo_port: int = 0, keycloak_port: int = 0
    ) -> LocalStack:
        data_dir = data_root() / name
        return cls(
            data_dir=data_dir,
            kafka=KafkaServer("kafka", data_dir, port=kafka_port),
            ferretdb=FerretDBServer("ferretdb", data_dir, port=mongo_port),
            keycloak=KeycloakServer("keycloak", data_dir, port=keycloak_port),
        )

    @property
    def env(self) -> dict[str, str]:
        return {
            "HEARTH_KAFKA": self.kafka.bootstrap,
            # The admin principal, for tools and tests; the platform gives each service its own.
            "HEARTH_KAFKA_USERNAME": ADMIN_PRINCIPAL,
            "HEARTH_KAFKA_PASSWORD": self.kafka.credentials.get(ADMIN_PRINCIPAL, ""),
            "HEARTH_KAFKA_CREDENTIALS_FILE": str(self.kafka.credentials_path),
            "HEARTH_PARTNER_ORGANISATIONS": json.dumps(list(LOCAL_PARTNERS)),
            "HEARTH_MONGO_URL": self.ferretdb.url,
            "HEARTH_OIDC_ISSUER": self.keycloak.issuer,
            "HEARTH_KEYCLOAK_URL": self.keycloak.url,
            "HEARTH_KEYCLOAK_ADMIN_USER": self.keycloak.admin_user,
            "HEARTH_KEYCLOAK_ADMIN_PASSWORD": self.keycloak.admin_password,
        }

    def start(self) -> None:
        prepare_all()
        started = time.monotonic()
        # All three run at once: Keycloak first, as it takes longest (Kafka's start formats
        # its storage in the foreground, meanwhile).
        try:
            self.keycloak.start()
            self.kafka.start()
            self.ferretdb.start()
            self.ferretdb.wait_ready()
            self.kafka.wait_ready()
            self.keycloak.wait_ready()
        except BaseException:
            self.stop()
            raise
        say(f"stack ready in {time.monotonic() - started:.1f}s: {self.env}")
        self._write_state()

    def stop(self) -> None:
        self.ferretdb.stop()
        self.kafka.stop()
        self.keycloak.stop()
        (self.data_dir / "stack.json").unlink(missing_ok=True)

    def _write_state(self) -> None:
        state = {
            **self.env,
            "kafka_pid": self.kafka.pid,
            "ferretdb_pid": self.ferretdb.pid,
            "keycloak_pid": self.keycloak.pid,
            "kafka_port": self.kafka.port,
            "mongo_port": self.ferretdb.port,
            "keycloak_port": self.keycloak.port,
            "keycloak_management_port": self.keycloak.management_port,
        }
        path = self.data_dir / "stack.json"
        path.write_text(json.dumps(state, indent=2))
        path.chmod(0o600)  # it holds the Keycloak admin's password

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
