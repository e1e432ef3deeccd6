"""A webhook receiver that records every request (path, headers, body) and answers with the
statuses it is told to: the other end of ferry's outgoing webhooks.

Why: a test must see exactly what a real receiver would get — headers included — and make the
receiver fail on purpose (``statuses=[500, 500]`` answers 500 twice, then 200). Plain HTTP, or HTTPS
with a certificate from the shared test CA (``tls=True``) that ferry does not trust. It runs in a
thread, so async tests and tests against a ``ferry serve`` subprocess use it alike. Test-only code.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.net import BackgroundServer, wait_until
from tests.support.registry import shared_ca


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    """Header names in lower case."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver(BackgroundServer):
    thread_name = "webhook-receiver"

    def __init__(self, *, statuses: Sequence[int] = (), tls: bool = False, echo_header: str = "") -> None:
        """``statuses`` are answered in turn, then 200 for ever; ``echo_header`` names a request
        header whose value goes back in each non-2xx answer's body (a receiver that leaks it)."""
        self._statuses = list(statuses)
        self._echo = echo_header.lower()
        self._received: list[Received] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.port: int = self._httpd.server_address[1]
        scheme = "http"
        if tls:
            certificate = shared_ca().issue_cert("127.0.0.1", "localhost")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            certificate.configure_cert(context)
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.port}/hook"

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def wait_for(self, count: int, *, timeout: float = 15.0) -> list[Received]:
        """The first ``count`` requests, once that many have arrived."""
        return wait_until(
            lambda: self.received[:count] if len(self.received) >= count else None,
            timeout=timeout,
            what=f"{count} webhook request(s) at {self.url} (got {len(self.received)})",
        )

    def _next_status(self) -> int:
        with self._lock:
            return self._statuses.pop(0) if self._statuses else 200

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._lock:
                    receiver._received.append(Received(self.path, headers, body))
                status = receiver._next_status()
                answer = b""
                if status >= 300 and receiver._echo:
                    answer = f"refused {headers.get(receiver._echo, '')}".encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
