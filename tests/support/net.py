"""Small networking helpers shared by the test servers.

Everything here exists so that the test servers never rely on fixed ports or
on ``time.sleep`` guesses: ports come from the kernel and readiness is polled
against a deadline.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, TypeVar

T = TypeVar("T")


class Endpoint(Protocol):
    """Anything that looks like a registry to a client: real servers, proxies, fakes."""

    @property
    def url(self) -> str: ...
    @property
    def username(self) -> str | None: ...
    @property
    def password(self) -> str | None: ...
    @property
    def ca_file(self) -> Path | None: ...


def free_port() -> int:
    """Ask the kernel for a currently unused TCP port on 127.0.0.1.

    There is an unavoidable window between closing this socket and the real
    server binding the port; callers that spawn processes retry on bind errors.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    what: str = "condition",
) -> T:
    """Call ``probe`` until it returns something other than ``None`` or the deadline passes.

    Polling with a short interval keeps fast paths fast while still tolerating a
    slow CI machine; the deadline turns a hang into a readable failure.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = probe()
        except Exception as exc:  # the probe is allowed to fail while the thing starts
            last_error = exc
            result = None
        if result is not None:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}; last error: {last_error!r}")
        time.sleep(interval)


def client_ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    """An SSL context that trusts exactly the given test CA (or the system store when ``None``)."""
    ctx = ssl.create_default_context()
    if ca_file is not None:
        ctx.load_verify_locations(cafile=str(ca_file))
    return ctx


class BackgroundServer:
    """Serves ``_httpd`` from a daemon thread; usable as a context manager.

    Subclasses bind ``self._httpd`` in ``__init__`` (so the port is known before ``start``) and
    name their thread with ``thread_name``.
    """

    thread_name = "test-server"
    _httpd: ThreadingHTTPServer
    _thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},  # fast shutdown()
                name=self.thread_name,
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
