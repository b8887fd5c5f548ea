"""`python -m devstack start|stop|status|prepare` — the local real stack without Docker:
Kafka, FerretDB and Keycloak."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import time

from devstack.stack import LocalStack, data_root
from devstack.toolchain import prepare_all, say

PID_KEYS = ("ferretdb_pid", "kafka_pid", "keycloak_pid")


def _read_state(name: str) -> dict[str, object] | None:
    path = data_root() / name / "stack.json"
    return json.loads(path.read_text()) if path.exists() else None


def _pid_alive(pid: object) -> bool:
    try:
        os.kill(int(pid), 0)  # type: ignore[call-overload]
    except (OSError, TypeError, ValueError):
        return False
    return True


def _stop_group(pid: int, timeout: float = 20.0) -> None:
    """SIGTERM, then SIGKILL if it is still there: a KRaft broker can hang in its shutdown,
    and one left running kept burning most of a core beside the next stack (found by a
    benchmark)."""
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _pid_alive(pid):
        os.killpg(pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    parser.add_argument("command", choices=["prepare", "start", "run", "stop", "status"])
    parser.add_argument("--name", default="local", help="stack name (its data folder)")
    parser.add_argument("--kafka-port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--mongo-port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--keycloak-port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--with-browser", action="store_true", help="prepare: Chromium too (browser tests)"
    )
    args = parser.parse_args()

    if args.command == "prepare":
        prepare_all(browser=args.with_browser)
        return
    if args.command == "status":
        state = _read_state(args.name)
        if not state:
            print("stopped")
            return
        alive = all(_pid_alive(state.get(key)) for key in PID_KEYS)
        print(json.dumps({**state, "running": alive}, indent=2))
        return
    if args.command == "stop":
        state = _read_state(args.name)
        for key in PID_KEYS:
            if state and _pid_alive(state.get(key)):
                _stop_group(int(state[key]))  # type: ignore[call-overload]
        (data_root() / args.name / "stack.json").unlink(missing_ok=True)
        say("stack stopped")
        return

    stack = LocalStack.create(args.name, args.kafka_port, args.mongo_port, args.keycloak_port)
    stack.start()
    for key, value in stack.env.items():
        print(f"export {key}={shlex.quote(value)}", flush=True)
    if args.command == "run":  # foreground until Ctrl-C
        try:
            signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
            while stack.kafka.alive() and stack.ferretdb.alive() and stack.keycloak.alive():
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            stack.stop()
            say("stack stopped")


if __name__ == "__main__":
    main()
