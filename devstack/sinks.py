"""The far side of the notification channels for the demo and the tests (end-to-end and the
notifications service's own): a real SMTP server (aiosmtpd) and an HTTP endpoint shaped like
GOV.UK Notify / a partner webhook, each keeping what it receives (and, with a folder, writing it
there, so a demo user can open the emails and letters)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from devstack.servers import free_port


class _MailRecorder:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.sink.keep(envelope.content)
        return "250 Message accepted"


@dataclass
class MailSink:
    """A real SMTP server on 127.0.0.1; every message is kept and, with `folder`, saved. The
    port is fixed at creation, so a test can stop the server and start it again (or pass the
    port to a service before starting it at all, to see connections refused)."""

    folder: Path | None = None
    port: int = field(default_factory=free_port)
    messages: list[EmailMessage] = field(default_factory=list)
    _controller: Controller | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def keep(self, content: bytes) -> None:
        with self._lock:
            self.messages.append(message_from_bytes(content, policy=policy.default))
            if self.folder:
                self.folder.mkdir(parents=True, exist_ok=True)
                (self.folder / f"{len(self.messages):05d}.eml").write_bytes(content)

    def to(self, address: str) -> list[EmailMessage]:
        """The messages with `address` among their recipients (the whole address, so one that
        merely contains it, e.g. "x" + address, does not count)."""
        with self._lock:
            return [m for m in self.messages if address in _recipients(m)]

    def start(self) -> MailSink:
        self._controller = Controller(_MailRecorder(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def _recipients(message: EmailMessage) -> set[str]:
    return {address for _, address in getaddresses([str(v) for v in message.get_all("To", [])])}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ProviderSink:
    """Answers every POST as GOV.UK Notify does (201 with an id) and keeps each request."""

    folder: Path | None = None
    port: int = field(default_factory=free_port)
    requests: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def on(self, path: str) -> list[Received]:
        return [r for r in list(self.requests) if r.path == path]

    def start(self) -> ProviderSink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                sink.requests.append(Received(self.path, headers, body))
                if sink.folder:
                    sink.folder.mkdir(parents=True, exist_ok=True)
                    name = f"{len(sink.requests):05d}{self.path.replace('/', '_')}.json"
                    (sink.folder / name).write_bytes(body)
                answer = json.dumps({"id": f"n-{len(sink.requests)}"}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
