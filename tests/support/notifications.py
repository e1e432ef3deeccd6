"""A webhook receiver for the registry's notification events.

Why: event-driven replication reacts to distribution's ``notifications``
(push/pull/delete envelopes).  Start a sink, pass ``sink.url`` as
``start_registry(..., notifications_url=...)`` and wait for events with a
deadline instead of sleeping.  Test-only code.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.net import BackgroundServer, wait_until

Event = dict[str, Any]


class NotificationSink(BackgroundServer):
    """Records every event of every envelope POSTed to ``url``; can answer with a chosen status."""

    thread_name = "notification-sink"

    def __init__(self, *, status: int = 200) -> None:
        self.status = status
        self._events: list[Event] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.port: int = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/events"

    @property
    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def wait_for(self, predicate: Callable[[Event], bool], *, timeout: float = 10.0) -> Event:
        """First recorded event matching ``predicate``, polling until ``timeout``."""
        return wait_until(
            lambda: next((e for e in self.events if predicate(e)), None), timeout=timeout, what="notification"
        )

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    events = json.loads(body).get("events", [])
                except ValueError:
                    events = []
                with sink._lock:
                    sink._events.extend(events)
                self.send_response(sink.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
