"""Run the real ``ferry serve`` as a subprocess, the way a user (or a client we did not write) meets it.

Why: compatibility with Harbor's clients, curl and schemathesis must be shown over real HTTP against
the real process — its own event loop, its managed ``docker-registry``, its shutdown — not against
an in-process app. Each server gets free ports, its own data directory, a random admin password
(``FERRY_ADMIN_PASSWORD``) and a log file (``ferry-serve.log`` next to the data directory; failure
messages quote its tail). ``stop()`` sends SIGTERM (SIGKILL after a grace period) and asserts that
ferry exited cleanly and that its managed registry is gone too.

Test-only code: like the rest of ``tests.support`` it never imports ``ferry``; it runs the
``ferry`` executable of the repository's virtual environment.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from tests.support.net import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]
API_PREFIX = "/api/v2.0"
ADMIN = "admin"
_LOCAL_REGISTRY_LINE = re.compile(r"^\s*local registry:\s*(\S+)", re.MULTILINE)
_STOP_GRACE_SECONDS = 20.0

_LIVE: set[subprocess.Popen[bytes]] = set()


@atexit.register
def _kill_leftovers() -> None:
    """A server whose fixture never reached teardown must not outlive the test run."""
    for process in list(_LIVE):
        if process.poll() is None:
            process.kill()


def ferry_command() -> list[str]:
    """``<repo>/.venv/bin/ferry``, else the ``ferry`` next to this interpreter, else ``python -m``."""
    for candidate in (REPO / ".venv" / "bin" / "ferry", Path(sys.executable).with_name("ferry")):
        if candidate.exists():
            return [str(candidate)]
    return [sys.executable, "-m", "ferry.cli.main"]


@dataclass(frozen=True)
class LocalRegistry:
    """ferry's managed registry as an endpoint for ``tests.support`` helpers (images, skopeo, client)."""

    url: str
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1]

    @property
    def tls(self) -> bool:
        return self.url.startswith("https://")


@dataclass
class FerryServer:
    url: str
    """``http://127.0.0.1:PORT``"""
    password: str
    data_dir: Path
    log_file: Path
    local_registry_url: str
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    username: str = ADMIN

    @property
    def api(self) -> str:
        return self.url + API_PREFIX

    @property
    def auth(self) -> tuple[str, str]:
        return self.username, self.password

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, what goes into the guide's ``http://HOST/api/v2.0/...``."""
        return self.url.split("://", 1)[1]

    @property
    def local_registry(self) -> LocalRegistry:
        return LocalRegistry(self.local_registry_url)

    def client(self) -> httpx.Client:
        """An httpx client for the API, signed in as admin."""
        return httpx.Client(base_url=self.api, auth=self.auth, timeout=30)

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def log_tail(self, characters: int = 4000) -> str:
        return self.log_text()[-characters:]

    def registry_pid(self) -> int | None:
        """The managed registry's pid, from the pid file ferry keeps in its data directory."""
        try:
            pid: int = json.loads((self.data_dir / "registry" / "registry.pid").read_text())["pid"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return pid

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period. Idempotent. Raises ``AssertionError`` when ferry
        did not exit cleanly or left its registry running (which is then killed, so nothing leaks)."""
        process, self.process = self.process, None
        if process is None:
            return
        registry = self.registry_pid()
        problems = []
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=_STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                problems.append(f"ferry serve ignored SIGTERM for {_STOP_GRACE_SECONDS:g} s and was killed")
        _LIVE.discard(process)
        if process.returncode not in (0, None) and not problems:
            problems.append(f"ferry serve exited with status {process.returncode}")
        if registry is not None and pid_alive(registry):
            _kill_registry(registry, self.data_dir)
            problems.append(f"the managed docker-registry (pid {registry}) outlived ferry serve")
        if problems:
            raise AssertionError("; ".join(problems) + f"\n--- {self.log_file} ---\n{self.log_tail()}")

    def __enter__(self) -> FerryServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie does not count."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[:1] != ["Z"]
    except OSError:
        return False


def _kill_registry(pid: int, data_dir: Path) -> None:
    """Kill a leftover registry, but only if the pid still belongs to this server's registry."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return
    if any(str(data_dir).encode() in part for part in argv):
        os.kill(pid, signal.SIGKILL)


def _healthy(url: str) -> bool | None:
    try:
        reply = httpx.get(f"{url}{API_PREFIX}/health", timeout=2)
    except httpx.TransportError:
        return None
    return True if reply.status_code == 200 else None


def start_ferry_server(
    workdir: Path,
    *,
    password: str | None = None,
    extra_args: tuple[str, ...] = (),
    startup_timeout: float = 60.0,
) -> FerryServer:
    """Start ``ferry serve`` with its data in ``workdir/data`` and wait until ``/api/v2.0/health``
    answers 200. Ports come from the kernel; a start that loses the race for one is retried."""
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir = workdir / "data"
    log_file = workdir / "ferry-serve.log"
    password = password or secrets.token_urlsafe(18)
    # Other FERRY_* variables (a database URL, a data directory) would point the server elsewhere.
    environ = {name: value for name, value in os.environ.items() if not name.startswith("FERRY_")}
    environ["FERRY_ADMIN_PASSWORD"] = password
    for _attempt in range(5):
        port, registry_port = free_port(), free_port()
        command = [
            *ferry_command(),
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--local-registry-port",
            str(registry_port),
            *extra_args,
        ]
        with log_file.open("ab") as log:
            log.write(f"$ {' '.join(command)}\n".encode())
            log.flush()
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=environ
            )
        _LIVE.add(process)
        server = FerryServer(
            url=f"http://127.0.0.1:{port}",
            password=password,
            data_dir=data_dir,
            log_file=log_file,
            local_registry_url=f"http://127.0.0.1:{registry_port}",
            process=process,
        )

        def ready(process: subprocess.Popen[bytes] = process, url: str = server.url) -> bool | None:
            if process.poll() is not None:
                return False
            return _healthy(url)

        try:
            started = wait_until(ready, timeout=startup_timeout, what=f"ferry serve on {server.url}")
        except TimeoutError:
            process.kill()
            process.wait()
            _LIVE.discard(process)
            raise AssertionError(f"ferry serve did not become healthy:\n{server.log_tail()}") from None
        if started:
            announced = _LOCAL_REGISTRY_LINE.findall(server.log_text())
            if announced:
                server.local_registry_url = announced[-1]
            return server
        process.wait()
        _LIVE.discard(process)
        if "already in use" not in server.log_tail(1000):
            raise AssertionError(f"ferry serve exited during startup:\n{server.log_tail()}")
    raise AssertionError(f"ferry serve could not get free ports:\n{server.log_tail()}")
