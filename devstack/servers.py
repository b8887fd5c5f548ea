"""Start, wait for and stop one real Kafka broker, one FerretDB and one Keycloak on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devstack.broker_acls import local_principals, new_credentials
from devstack.keycloak_admin import HEARTH_REALM, REALM_FILE, KeycloakAdmin
from devstack.toolchain import (
    RESOURCES,
    ferretdb_binary,
    kafka_libs,
    keycloak_env,
    keycloak_home,
    say,
)
from shared.broker_access import ADMIN_PRINCIPAL
from shared.kafka import client_security


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class ProcessGroup:
    """A child process started in its own session, and what fault tests do to all of it."""

    process: subprocess.Popen[bytes] | None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """kill -9 of the whole process group: no shutdown hook runs, no commit, no flush;
        whatever was not yet on disk (or in the page cache) is lost, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def pause(self) -> None:
        """SIGSTOP of the process group: alive, sockets open, answering nothing, as behind a
        network partition or a stalled VM (clients time out rather than see a reset)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT of the process group, after `pause`."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGCONT)


@dataclass
class ManagedProcess(ProcessGroup):
    """A child process in its own session so a stop reaches everything it started."""

    name: str
    data_dir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"{self.name}.out"

    def _spawn(self, cmd: list[str], env: dict[str, str] | None = None) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
        log.close()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def stop(self, timeout: float = 20.0) -> None:
        if not self.alive():
            return
        assert self.process is not None
        self.resume()  # a paused (SIGSTOP) server would not act on SIGTERM until continued
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class KafkaServer(ManagedProcess):
    port: int = 0
    controller_port: int = 0
    cluster_id: str = ""
    # principal -> password, made when the storage is formatted; kept beside it (0600).
    credentials: dict[str, str] = field(default_factory=dict)

    @property
    def credentials_path(self) -> Path:
        return self.data_dir / "kafka-credentials.json"

    @property
    def admin_password(self) -> str:
        return self.credentials[ADMIN_PRINCIPAL]

    def _load_or_make_credentials(self, log_dir: Path) -> None:
        import json

        wanted = set(local_principals())
        if self.credentials_path.exists():
            self.credentials = json.loads(self.credentials_path.read_text())
        if set(self.credentials) != wanted or not (log_dir / "meta.properties").exists():
            # New principals need SCRAM credentials, which are written when the storage is
            # formatted: start the local broker's data afresh.
            shutil.rmtree(log_dir, ignore_errors=True)
            self.credentials = new_credentials()
            self.credentials_path.write_text(json.dumps(self.credentials, indent=2))
            self.credentials_path.chmod(0o600)

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self.controller_port = self.controller_port or free_port()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _java(self, main: str, *args: str) -> list[str]:
        classpath = str(kafka_libs() / "*")
        return [
            "java",
            "-Xms256m",
            "-Xmx768m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile=file:{RESOURCES / 'kafka-log4j2.properties'}",
            f"-Dkafka.logs.dir={self.data_dir / 'kafka-logs-app'}",
            "-cp",
            classpath,
            main,
            *args,
        ]

    def start(self) -> None:
        config = self.data_dir / "kafka-server.properties"
        log_dir = self.data_dir / "kafka-data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        text = (RESOURCES / "kafka-server.properties").read_text()
        self._load_or_make_credentials(log_dir)
        text = (
            text.replace("@PORT@", str(self.port))
            .replace("@CONTROLLER_PORT@", str(self.controller_port))
            .replace("@LOG_DIR@", str(log_dir))
            .replace("@ADMIN_PASSWORD@", self.admin_password)
        )
        config.write_text(text)
        config.chmod(0o600)  # it holds the admin's password
        if not (log_dir / "meta.properties").exists():
            self.cluster_id = self.cluster_id or _kafka_cluster_id()
            scram = []
            for principal, password in self.credentials.items():
                scram += ["--add-scram", f"SCRAM-SHA-512=[name={principal},password={password}]"]
            subprocess.run(
                self._java(
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    self.cluster_id,
                    "-c",
                    str(config),
                    "--ignore-formatted",
                    *scram,
                ),
                check=True,
                capture_output=True,
            )
        say(f"starting Kafka on {self.bootstrap}")
        self._spawn(self._java("kafka.Kafka", str(config)))

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"Kafka exited during start:\n{self.tail()}")
            if _port_open(self.port) and asyncio.run(
                _kafka_lists_topics(self.bootstrap, self.admin_password)
            ):
                return
            time.sleep(0.5)
        raise TimeoutError(f"Kafka did not answer on {self.bootstrap}:\n{self.tail()}")


def _kafka_cluster_id() -> str:
    # Same shape as `kafka-storage random-uuid`: 16 random bytes, URL-safe base64, no padding.
    import base64

    while True:  # an id starting with "-" would read as a command-line option
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


async def _kafka_lists_topics(bootstrap: str, admin_password: str) -> bool:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=3000,
        **client_security(ADMIN_PRINCIPAL, admin_password),
    )
    try:
        await admin.start()
        await admin.list_topics()
        return True
    except Exception:
        return False
    finally:
        await admin.close()


@dataclass
class FerretDBServer(ManagedProcess):
    port: int = 0

    def __post_init__(self) -> None:
        self.port = self.port or free_port()

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self) -> None:
        sqlite_dir = self.data_dir / "ferretdb-sqlite"
        state_dir = self.data_dir / "ferretdb-state"
        sqlite_dir.mkdir(parents=True, exist_ok=True)
        state_dir.mkdir(parents=True, exist_ok=True)
        say(f"starting FerretDB on 127.0.0.1:{self.port}")
        self._spawn(
            [
                str(ferretdb_binary()),
                "--handler=sqlite",
                # WAL with synchronous=NORMAL: a commit survives a crash of FerretDB or of the
                # machine's processes (the fault tests kill them) but skips the fsync per
                # commit; only an OS crash or power cut can lose the last commits. The log is
                # checkpointed on a clock by our patch, not inside commits (autocheckpoint 0;
                # resources/ferretdb-patch/hearth_checkpoint.go), and trimmed to 64 MB when it
                # starts again. Local only: production runs MongoDB.
                f"--sqlite-url=file:{sqlite_dir}/?_pragma=synchronous(normal)"
                "&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(67108864)",
                f"--listen-addr=127.0.0.1:{self.port}",
                f"--state-dir={state_dir}",
                # Go's pprof (`/debug/pprof/`) when asked, for profiling the database's CPU.
                f"--debug-addr={os.environ.get('HEARTH_FERRETDB_DEBUG_ADDR', '-')}",
                "--telemetry=disable",
                "--log-level=warn",
            ],
            # 22 % of its CPU went to Go's garbage collector under the pipeline benchmark
            # (it decodes every document it reads or updates); memory is plentiful, CPU is not.
            env={**os.environ, "GOGC": os.environ.get("GOGC", "400")},
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        from pymongo import MongoClient

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"FerretDB exited during start:\n{self.tail()}")
            if _port_open(self.port):
                client: MongoClient[dict[str, object]] = MongoClient(
                    self.url, serverSelectionTimeoutMS=2000
                )
                try:
                    client.admin.command("ping")
                    return
                except Exception:
                    pass
                finally:
                    client.close()
            time.sleep(0.3)
        raise TimeoutError(f"FerretDB did not answer on {self.url}:\n{self.tail()}")


def wait_for_keycloak(
    url: str,
    timeout: float = 240.0,
    alive: Callable[[], bool] = lambda: True,
    tail: Callable[[], str] = str,
) -> None:
    """Until Keycloak serves the master realm's discovery document (it then accepts admins)."""
    import httpx

    deadline = time.monotonic() + timeout
    discovery = f"{url}/realms/master/.well-known/openid-configuration"
    while True:
        if not alive():
            raise RuntimeError(f"Keycloak exited during start:\n{tail()}")
        try:
            if httpx.get(discovery, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"Keycloak did not answer on {url}:\n{tail()}")
        time.sleep(0.5)


@dataclass
class KeycloakServer(ManagedProcess):
    """Keycloak with an in-memory database (nothing shared between stacks, nothing kept after a
    stop) and the realm `hearth` imported through the admin API once it answers."""

    port: int = 0
    management_port: int = 0
    admin_user: str = "admin"
    admin_password: str = field(default="", repr=False)
    realm_file: Path = REALM_FILE
    heap: str = "-Xms64m -Xmx512m"
    # C1 only: measured on 2 cores beside Kafka and FerretDB, Keycloak was ready ~2 s sooner
    # with a third less CPU (38 s against 59 s to ready) and ~40 MB less memory; tokens cost
    # ~35 ms instead of ~28 ms, which tests and the demo never notice.
    java_options: str = "-XX:TieredStopAtLevel=1"
    _started_at: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self.management_port = self.management_port or free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.url}/realms/{HEARTH_REALM}"

    def admin(self) -> KeycloakAdmin:
        return KeycloakAdmin(self.url, self.admin_user, self.admin_password)

    def start(self) -> None:
        home = keycloak_home()
        tmp = self.data_dir / "keycloak-tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        # A random admin password, made when this server first starts. The database is in
        # memory, so every start bootstraps the admin afresh; a restart (fault tests) keeps
        # the password so what was handed out stays valid, and re-imports the realm.
        self.admin_password = self.admin_password or secrets.token_urlsafe(18)
        env = keycloak_env(
            KC_BOOTSTRAP_ADMIN_USERNAME=self.admin_user,
            KC_BOOTSTRAP_ADMIN_PASSWORD=self.admin_password,
            JAVA_OPTS_KC_HEAP=self.heap,
            JAVA_OPTS_APPEND=self.java_options,
        )
        say(f"starting Keycloak on {self.url}")
        self._started_at = time.monotonic()
        self._spawn(
            [
                str(home / "bin" / "kc.sh"),
                # Built once by keycloak_home() (--db=dev-mem): no re-augmentation here.
                "start",
                "--optimized",
                "--http-enabled=true",
                "--http-host=127.0.0.1",
                f"--http-port={self.port}",
                f"--http-management-port={self.management_port}",
                # Every URL Keycloak writes (the issuer above all) names this address,
                # whatever address a request came in on.
                f"--hostname={self.url}",
                "--cache=local",  # no cluster discovery: two stacks never find each other
                # The cached distribution is shared and stays read-only: what Keycloak writes
                # at run time goes to this stack's folder.
                f"-Djava.io.tmpdir={tmp}",
                "-Dquarkus.transaction-manager.object-store.directory="
                f"{self.data_dir / 'keycloak-transaction-logs'}",
            ],
            env=env,
        )

    def wait_ready(self, timeout: float = 240.0) -> None:
        """Wait for the master realm's discovery document, then import the realm."""
        wait_for_keycloak(self.url, timeout, self.alive, self.tail)
        answered = time.monotonic()
        self.provision()
        say(
            f"Keycloak ready in {time.monotonic() - self._started_at:.1f}s "
            f"(realm imported in {time.monotonic() - answered:.1f}s)"
        )

    def provision(self) -> None:
        with self.admin() as admin:
            admin.import_realm(self.realm_file)
