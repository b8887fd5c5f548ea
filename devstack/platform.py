"""Run the platform locally: the real stack plus every service as its own process.

`./hearth demo` runs this module. It prints where to look and stops everything on Ctrl-C.
End-to-end tests use `Platform` to run the services exactly as operators would: one process
per service (`HEARTH_WORKLOAD=all`) unless a service is started split (`start_split`: an
interactive process and a bulk process, docs/LANES.md "Lanes in processes").
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from devstack.broker_acls import prepare_broker
from devstack.servers import ProcessGroup, free_port
from devstack.sinks import MailSink, ProviderSink
from devstack.stack import REPO_ROOT, LocalStack
from devstack.toolchain import say
from shared.broker_access import service_principal
from shared.lanes import Workload

# The services with an API of their own (each its OpenAPI document, metrics, broker access).
API_SERVICES = (
    "referral",
    "allocation",
    "support",
    "reconnection",
    "notifications",
    "audit",
    "agreements",
    "privacy",
    "outcomes",
)
SERVICES = (*API_SERVICES, "web")  # the web app last: it calls the others' APIs
# Services that never touch Kafka: no broker principal (the web app only calls the APIs).
WITHOUT_BROKER = frozenset({"web"})
DEMO_NOTIFY_KEY = "demo-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0"
DEMO_PERSON_MATCH_KEY = "demo-1:demo-person-matching-key-not-for-production"
DEMO_QUARANTINE_KEY = "demo-1:demo-quarantine-key-not-for-production-use"
DEMO_TENANCY_ID_KEY = "demo-tenancy-id-key-not-for-production-use"
DEMO_AUDIT_CHAIN_KEY = "demo-audit-chain-key-not-for-production"
DEMO_HCLIC_CASE_REF_KEY = "demo-hclic-case-ref-key-not-for-production-use"
DEMO_WEB_CLIENT_SECRET = "hearth-web-demo-secret"  # the demo realm's hearth-web client
DEMO_WEB_SESSION_KEY = "demo-web-session-key-not-for-production-use"


def available_services() -> list[str]:
    """Services that have an entry point yet (`services/<name>/__main__.py`)."""
    return [s for s in SERVICES if importlib.util.find_spec(f"services.{s}.__main__") is not None]


@dataclass
class ServiceProcess(ProcessGroup):
    name: str
    port: int
    log_path: Path
    replica: int = 0
    workload: Workload | None = None  # None: the environment's (all, unless it says)
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        """Prometheus metrics, on a port of their own (never the public API's)."""
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self, env: dict[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"],
            env={
                **env,
                "HEARTH_SERVICE_NAME": self.name,
                "HEARTH_HTTP_PORT": str(self.port),
                "HEARTH_METRICS_PORT": str(self.metrics_port),
                **({"HEARTH_WORKLOAD": self.workload.value} if self.workload else {}),
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            start_new_session=True,
        )
        log.close()

    def health(self) -> dict[str, object] | None:
        try:
            with urllib.request.urlopen(f"{self.url}/health/ready", timeout=2) as response:
                return json.loads(response.read())  # type: ignore[no-any-return]
        except Exception:
            return None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@dataclass
class Platform:
    env: dict[str, str]
    log_dir: Path
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    database_prefix: str = ""  # tests isolate each run's databases with it
    _broker_ready: bool = False

    def start_service(
        self, name: str, replica: int = 0, port: int = 0, workload: Workload | None = None
    ) -> ServiceProcess:
        """One process of `name`, filed as `name`, `name-<replica>`, or `name-bulk` (its log
        `name-bulk.log`) for a bulk process; an interactive one is the service's own entry."""
        suffix = f"-{replica}" if replica else ""
        if workload is Workload.BULK:
            suffix += "-bulk"
        process = ServiceProcess(
            name, port or free_port(), self.log_dir / f"{name}{suffix}.log", replica, workload
        )
        env = {**self.env}
        if name in WITHOUT_BROKER:
            # Not even the broker's address: the web app has no business there.
            env = {k: v for k, v in env.items() if not k.startswith("HEARTH_KAFKA")}
            env.update(self._web_env(process.port))
        else:
            env.update(self._broker_principal(name))
        # A demo's and a test's person-matching key; a deployment sets its own secret.
        env.setdefault("HEARTH_PERSON_MATCH_KEYS", json.dumps([DEMO_PERSON_MATCH_KEY]))
        # ... and the key sealing its dead letters in quarantine (shared/quarantine.py).
        env.setdefault("HEARTH_QUARANTINE_KEYS", json.dumps([DEMO_QUARANTINE_KEY]))
        # ... and the key tenancy ids are made with (shared/ids.py; never rotated).
        env.setdefault("HEARTH_TENANCY_ID_KEY", DEMO_TENANCY_ID_KEY)
        # ... and the key of the H-CLIC return's case references (services/outcomes/hclic).
        env.setdefault("HEARTH_HCLIC_CASE_REF_KEY", DEMO_HCLIC_CASE_REF_KEY)
        # The local platform (demo, end-to-end tests) is never production: it may move time.
        env.setdefault("HEARTH_ENVIRONMENT", "development")
        if self.database_prefix:
            env["HEARTH_MONGO_DB"] = f"{self.database_prefix}_{name}"
        process.start(env)
        self.services[f"{name}{suffix}"] = process
        return process

    def start_split(self, name: str) -> tuple[ServiceProcess, ServiceProcess]:
        """`name` as operators split it: an interactive process (filed as `name`: its API is
        the service's) and a bulk process (`name-bulk`), each group run by one of them."""
        return (
            self.start_service(name, workload=Workload.INTERACTIVE),
            self.start_service(name, workload=Workload.BULK),
        )

    def _web_env(self, port: int) -> dict[str, str]:
        """The web app's settings: where the APIs are (started first) and its own address."""
        apis = {key: process.url for key, process in self.services.items() if "-" not in key}
        return {
            "HEARTH_WEB_SERVICES": json.dumps(apis),
            "HEARTH_WEB_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "HEARTH_WEB_CLIENT_SECRET": self.env.get(
                "HEARTH_WEB_CLIENT_SECRET", DEMO_WEB_CLIENT_SECRET
            ),
            "HEARTH_WEB_SESSION_KEY": self.env.get("HEARTH_WEB_SESSION_KEY", DEMO_WEB_SESSION_KEY),
        }

    def _broker_principal(self, service: str) -> dict[str, str]:
        """The service's own broker principal, after the topics and ACLs are in place."""
        path = self.env.get("HEARTH_KAFKA_CREDENTIALS_FILE")
        if not path:
            return {}  # a broker without authentication
        if not self._broker_ready:
            prepare_broker(self.env)
            self._broker_ready = True
        principal = service_principal(service)
        password = json.loads(Path(path).read_text())[principal]
        return {"HEARTH_KAFKA_USERNAME": principal, "HEARTH_KAFKA_PASSWORD": password}

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for key in list(self.services):
            process = self.services[key]
            port_retries = 2
            while (process.health() or {}).get("status") != "ok":
                if process.process and process.process.poll() is not None:
                    tail = _tail(process.log_path)
                    if "address already in use" in tail.lower() and port_retries:
                        # free_port() found the port free a moment ago; another socket (a
                        # client's ephemeral port) took it since. Start again on new ports.
                        port_retries -= 1
                        process = self._start_again(key, process)
                        continue
                    # The log's end says why; the log itself may not outlive a test run.
                    raise RuntimeError(f"{key} exited; see {process.log_path}:\n{tail}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{key} not healthy; see {process.log_path}")
                time.sleep(0.3)

    def _start_again(self, key: str, process: ServiceProcess) -> ServiceProcess:
        del self.services[key]  # start_service files it again under the same key
        return self.start_service(process.name, process.replica, workload=process.workload)

    def restart_service(self, name: str, timeout: float = 90) -> ServiceProcess:
        """Start `name` again (after a kill) and wait until every service answers healthy; a
        split service's interactive process starts again as one."""
        previous = self.services.get(name)
        process = self.start_service(name, workload=previous.workload if previous else None)
        self.wait_healthy(timeout)
        return process

    def stop(self) -> None:
        for process in reversed(list(self.services.values())):
            process.resume()  # a stopped (SIGSTOP) process would never act on SIGTERM
            process.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="./hearth demo")
    parser.add_argument("--no-demo", action="store_true", help="start without loading demo data")
    parser.add_argument("--exit", action="store_true", help="stop after loading (for CI)")
    parser.add_argument("--keep-data", action="store_true", help="keep the last run's data")
    args = parser.parse_args()

    stack = LocalStack.create("local")
    if not args.keep_data:
        shutil.rmtree(stack.data_dir, ignore_errors=True)  # a fresh demo every time
    stack.start()
    # The far side of the notification channels: emails and provider calls land in files.
    outbox = stack.data_dir / "outbox"
    mail = MailSink(folder=outbox / "email").start()
    provider = ProviderSink(folder=outbox / "sms-and-letters").start()
    # Services get the issuer to trust, never the identity provider's admin credentials.
    services_env = {k: v for k, v in stack.env.items() if not k.startswith("HEARTH_KEYCLOAK_")}
    env = {
        **os.environ,
        **services_env,
        "HEARTH_AUDIT_CHAIN_KEY": DEMO_AUDIT_CHAIN_KEY,
        "HEARTH_LOG_JSON": "true",
        "HEARTH_SMTP_HOST": "127.0.0.1",
        "HEARTH_SMTP_PORT": str(mail.port),
        "HEARTH_NOTIFY_URL": provider.url,
        "HEARTH_NOTIFY_API_KEY": DEMO_NOTIFY_KEY,
        "HEARTH_WEBHOOK_ALLOW_LOOPBACK": "true",  # the demo's sinks listen on 127.0.0.1
        # One scenario clock for every service (python -m shared.scenario_clock set ...).
        "HEARTH_SCENARIO_CLOCK": "true",
    }
    platform = Platform(env, stack.data_dir / "logs")
    stopping = False

    def interrupt(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, interrupt)
    try:
        names = available_services()
        for port, name in enumerate(names, start=8101):
            platform.start_service(name, port=port if _port_free(port) else 0)
        platform.wait_healthy()
        _print_summary(stack, platform)
        say(f"emails, SMS and letters the platform sends are written to {outbox}")
        say(
            "every service follows one scenario clock: HEARTH_ENVIRONMENT=development "
            ".venv/bin/python -m shared.scenario_clock set 2026-06-01 (README: Scenario time)"
        )
        if not args.no_demo and importlib.util.find_spec("devstack.demo") is not None:
            from devstack.demo import load_demo

            load_demo(platform, stack.keycloak.url)
        if args.exit:
            return
        say("running; Ctrl-C stops everything")
        while not stopping:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        say("stopping services and stack")
        platform.stop()
        mail.stop()
        provider.stop()
        stack.stop()
        say("stopped cleanly")


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _print_summary(stack: LocalStack, platform: Platform) -> None:
    lines = [
        "",
        "Hearth is running locally",
        f"  Kafka     {stack.kafka.bootstrap}   (Apache Kafka, KRaft)",
        f"  MongoDB   {stack.ferretdb.url}   (FerretDB, SQLite)",
        f"  Keycloak  {stack.keycloak.url}   (identity provider; realm hearth, admin console: "
        f"{stack.keycloak.admin_user} / {stack.keycloak.admin_password})",
    ]
    for key, process in platform.services.items():
        health = process.health() or {}
        if key == "web":
            lines.append(
                f"  {key:<14}{process.url}/   <- the web app: sign in as a demo user below"
                f"   logs: {process.log_path}"
            )
            continue
        lines.append(
            f"  {key:<14}{process.url}/docs   health: {health.get('status', 'down')}"
            f"   logs: {process.log_path}"
        )
    if not platform.services:
        lines.append("  (no services have an entry point yet)")
    lines += demo_people_lines(stack.keycloak.url)
    if web := platform.services.get("web"):
        from devstack.demo_data import DEMO_PASSWORD

        lines += [
            "",
            f"Open the web app at {web.url}/ and sign in as any demo user above,",
            f"e.g. derby-council.caseworker / {DEMO_PASSWORD} (its caseload) or",
            "derby-council.team-leader (the waiting list) or derby-homes.income-officer (arrears).",
        ]
    print("\n".join(lines), flush=True)


def demo_people_lines(keycloak_url: str) -> list[str]:
    """Who can sign in to the demo, and how to get a token for curl."""
    from devstack.demo_data import DEMO_PASSWORD
    from devstack.keycloak_admin import REALM_FILE

    realm = json.loads(REALM_FILE.read_text())
    people = [u for u in realm.get("users", []) if not u.get("serviceAccountClientId")]
    machines = [
        u["serviceAccountClientId"]
        for u in realm.get("users", [])
        if u.get("serviceAccountClientId")
    ]
    lines = ["", f"Demo users, one per role in each organisation (password {DEMO_PASSWORD}):"]
    for user in people:
        attributes = user.get("attributes", {})
        detail = ", ".join(
            f"{name} {'/'.join(attributes[name])}"
            for name in ("teams", "caseworker_id")
            if name in attributes
        )
        who = f"{user.get('firstName', '')} {user.get('lastName', '')}".strip()
        lines.append(f"  {user['username']:<40}{who:<18}{detail}")
    lines.append("Machine clients (client-credentials grant): " + ", ".join(machines))
    token_url = f"{keycloak_url}/realms/hearth/protocol/openid-connect/token"
    lines += [
        "A token for curl (the demo realm's hearth-cli client allows the password grant):",
        f"  TOKEN=$(curl -s {token_url} -d grant_type=password -d client_id=hearth-cli \\",
        "    -d username=derby-council.service-manager "
        f"-d password={DEMO_PASSWORD} | jq -r .access_token)",
        '  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8101/v1/referrals',
    ]
    return lines


if __name__ == "__main__":
    main()
