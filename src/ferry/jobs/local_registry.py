"""The managed local registry: a CNCF distribution registry (Debian's ``docker-registry``) that
``ferry serve`` starts next to itself, so a fresh install has a registry to replicate into and out
of without any other setup.

ferry owns the process: it writes the configuration (storage under the data directory,
notifications pointed back at ferry with a shared secret), waits until ``GET /v2/`` answers, and
restarts the registry with capped exponential backoff whenever it dies. The registry runs in its
own session so that a Ctrl-C aimed at ferry does not kill it behind the supervisor's back; ferry
stops it on the way out. A registry left behind by a ferry that was killed outright is recognised
by its pid file and stopped at the next start instead of blocking the port.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import secrets
import shutil
import signal
import socket
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import yaml

from ferry.errors import InvalidInput, RequestContext, Unavailable

logger = logging.getLogger("ferry.local_registry")

INSTALL_HINT = (
    "install it with `sudo apt-get install docker-registry`, or run `ferry serve --local-registry URL` "
    "to use an existing registry, or `--local-registry none`"
)
PORT_HINT = (
    "use `--local-registry-port PORT` to pick another port, or `--local-registry URL` to use that registry"
)
_LOG_TAIL_LINES = 20
_POLL_SECONDS = 0.05


@dataclass(frozen=True, kw_only=True)
class LocalRegistrySettings:
    root: Path
    """Holds ``config.yml``, ``storage/``, ``registry.log`` and ``registry.pid``."""
    host: str = "127.0.0.1"
    port: int = 5000
    notify_url: str | None = None
    """ferry's notification receiver; no notifications are configured without it."""
    notify_token: str | None = field(default=None, repr=False)
    """Sent by the registry as ``Authorization: Bearer <token>`` with every notification."""
    binary: str | None = None
    """Default: ``docker-registry`` on PATH, else ``registry`` on PATH."""
    delete_enabled: bool = True
    """Deletions must be possible for them to be replicated and for garbage to be cleaned."""
    startup_timeout: float = 15.0
    stop_timeout: float = 5.0
    """Grace period between SIGTERM and SIGKILL."""
    restart_delay: float = 1.0
    max_restart_delay: float = 30.0
    """Also the uptime after which the backoff starts again from ``restart_delay``."""

    def __post_init__(self) -> None:
        # The registry runs with the root as its working directory: relative paths would move.
        object.__setattr__(self, "root", self.root.absolute())
        if not 0 < self.port < 65536:
            raise InvalidInput(
                f"local registry port {self.port} is out of range", hint="choose a port between 1 and 65535"
            )
        if self.notify_token is not None and (not self.notify_token or _has_space(self.notify_token)):
            raise InvalidInput(
                "the local registry's notification token must be non-empty and contain no whitespace",
                hint="use a token such as `secrets.token_urlsafe(32)`",
            )

    @property
    def address(self) -> str:
        """``host:port`` as the registry's ``http.addr`` wants it (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def config_file(self) -> Path:
        return self.root / "config.yml"

    @property
    def storage_dir(self) -> Path:
        return self.root / "storage"

    @property
    def log_file(self) -> Path:
        return self.root / "registry.log"

    @property
    def pid_file(self) -> Path:
        return self.root / "registry.pid"


def _has_space(text: str) -> bool:
    return any(char.isspace() or not char.isprintable() for char in text)


def find_registry_binary(explicit: str | None = None) -> str:
    """The registry executable's path; a missing one is the most likely first-run failure of
    ``ferry serve``, so the error says how to install it or how to do without it."""
    for name in [explicit] if explicit else ["docker-registry", "registry"]:
        found = shutil.which(name)
        if found:
            return found
    if explicit:
        raise InvalidInput(
            f"the CNCF distribution registry binary {explicit!r} does not exist or is not executable",
            hint=INSTALL_HINT,
        )
    raise InvalidInput("the CNCF distribution registry (docker-registry) is not installed", hint=INSTALL_HINT)


def render_config(settings: LocalRegistrySettings, *, secret: str) -> dict[str, Any]:
    """The registry's configuration (distribution v2 ``config.yml``) as plain data."""
    config: dict[str, Any] = {
        "version": "0.1",
        "log": {"level": "info"},
        "storage": {
            "filesystem": {"rootdirectory": str(settings.storage_dir)},
            "delete": {"enabled": settings.delete_enabled},
        },
        "http": {
            "addr": settings.address,
            "secret": secret,
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
        "health": {"storagedriver": {"enabled": True, "interval": "10s", "threshold": 3}},
    }
    if settings.notify_url is not None:
        headers = {"Authorization": [f"Bearer {settings.notify_token}"]} if settings.notify_token else {}
        config["notifications"] = {
            "endpoints": [
                {
                    "name": "ferry",
                    "url": settings.notify_url,
                    "headers": headers,
                    "timeout": "2s",
                    "threshold": 5,
                    "backoff": "1s",
                    # Blob events carry this type; ferry acts on manifests (pushes, deletions).
                    "ignoredmediatypes": ["application/octet-stream"],
                }
            ]
        }
    return config


def write_config(settings: LocalRegistrySettings) -> Path:
    """Write ``config.yml`` readable by its owner only (it holds the notification token), with a
    fresh ``http.secret``: it only signs upload state, which a restart may safely invalidate."""
    settings.root.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(render_config(settings, secret=secrets.token_hex(32)), sort_keys=False)
    path = settings.config_file
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(text)
    os.replace(partial, path)
    return path


class LocalRegistry:
    """Starts, watches and stops one registry process. Use it from one event loop: ``start()``,
    then ``stop()`` (or ``async with``)."""

    def __init__(self, settings: LocalRegistrySettings) -> None:
        self.settings = settings
        self._process: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._restarts = 0
        self._started_at = 0.0
        self._log_offset = 0
        """Where the current process's output starts in the log."""

    @property
    def url(self) -> str:
        return f"http://{self.settings.address}"

    @property
    def restarts(self) -> int:
        """How many times the supervisor started the registry again after it died."""
        return self._restarts

    @property
    def pid(self) -> int | None:
        """The registry's process id while one runs (or is being waited for)."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    async def start(self) -> None:
        """Start the registry and return once it answers ``GET /v2/`` (typically well under a
        second); raise ``InvalidInput`` for what the user must change (binary, port) and
        ``Unavailable`` when the registry does not come up."""
        if self._process is not None:
            raise RuntimeError("the local registry is already started")
        binary = find_registry_binary(self.settings.binary)
        self.settings.storage_dir.mkdir(parents=True, exist_ok=True)
        await self._stop_leftover()
        _check_port_free(self.settings)
        self._process = await self._spawn(binary)
        try:
            await self._wait_ready(self._process)
        except BaseException:
            await self._terminate()
            raise
        self._watcher = asyncio.create_task(self._supervise(binary), name="ferry-local-registry")

    async def stop(self) -> None:
        """Stop supervising, then SIGTERM the registry and SIGKILL it after the grace period."""
        watcher, self._watcher = self._watcher, None
        try:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
        finally:
            await self._terminate()

    async def probe(self) -> bool:
        """Whether the registry answers ``GET /v2/`` with 200 right now."""
        return await _answers_v2(self.settings, within=2.0)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _spawn(self, binary: str) -> asyncio.subprocess.Process:
        config = write_config(self.settings)
        log_fd = os.open(self.settings.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            self._log_offset = os.fstat(log_fd).st_size
            process = await asyncio.create_subprocess_exec(
                binary,
                "serve",
                str(config),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_fd,
                stderr=asyncio.subprocess.STDOUT,
                cwd=self.settings.root,
                start_new_session=True,
            )
        finally:
            os.close(log_fd)
        self._started_at = asyncio.get_running_loop().time()
        _write_pid_file(self.settings.pid_file, process.pid)
        logger.info(
            "started %s (pid %d) on %s, log %s", binary, process.pid, self.url, self.settings.log_file
        )
        return process

    async def _wait_ready(self, process: asyncio.subprocess.Process) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.startup_timeout
        while process.returncode is None:
            if await _answers_v2(self.settings, within=1.0):
                return
            if loop.time() >= deadline:
                raise self._unavailable(
                    f"the local registry did not answer GET {self.url}/v2/ "
                    f"within {self.settings.startup_timeout:g} s"
                )
            await asyncio.sleep(_POLL_SECONDS)
        tail = self._log_tail()
        if "address already in use" in tail:
            raise _port_taken(self.settings)
        raise self._unavailable(f"the local registry {_describe_exit(process.returncode)} during startup")

    async def _supervise(self, binary: str) -> None:
        """Restart the registry whenever it dies; backoff doubles per quick death and starts over
        once a registry has stayed up for ``max_restart_delay``."""
        loop = asyncio.get_running_loop()
        quick_deaths = 0
        while True:
            process = self._process
            if process is not None:
                status = await process.wait()
                uptime = loop.time() - self._started_at
                quick_deaths = 0 if uptime >= self.settings.max_restart_delay else quick_deaths
                logger.warning(
                    "local registry (pid %d) %s after %.0f s; last lines of %s:\n%s",
                    process.pid,
                    _describe_exit(status),
                    uptime,
                    self.settings.log_file,
                    self._log_tail(),
                )
            delay = min(self.settings.max_restart_delay, self.settings.restart_delay * 2**quick_deaths)
            quick_deaths += 1
            logger.warning("restarting the local registry in %g s", delay)
            await asyncio.sleep(delay)
            self._restarts += 1
            try:
                self._process = await self._spawn(binary)
            except Exception:  # the supervisor's edge: keep supervising whatever went wrong
                self._process = None
                logger.exception("could not restart the local registry (%s)", binary)

    async def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), self.settings.stop_timeout)
                except TimeoutError:
                    logger.warning("local registry (pid %d) ignored SIGTERM; killing it", process.pid)
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    await process.wait()
        except BaseException:
            # Cancelled while waiting: never leave the process behind.
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            raise
        finally:
            _remove_pid_file(self.settings.pid_file, process.pid)
        logger.info("stopped the local registry (pid %d)", process.pid)

    async def _stop_leftover(self) -> None:
        """Stop a registry that a killed ferry left running on this root, unless the ferry that
        started it still lives (then two ferry processes share one data directory)."""
        found = _read_pid_file(self.settings.pid_file)
        if found is None:
            return
        pid, owner = found
        if not _serves_config(pid, self.settings.config_file):
            self.settings.pid_file.unlink(missing_ok=True)
            return
        if owner != os.getpid() and _alive(owner):
            raise InvalidInput(
                f"another ferry process (pid {owner}) already runs the local registry "
                f"in {self.settings.root}",
                hint="stop that process, or give this one another data directory",
            )
        logger.warning("stopping a local registry (pid %d) left running by an earlier ferry", pid)
        await _kill_and_wait(pid, grace=self.settings.stop_timeout)
        self.settings.pid_file.unlink(missing_ok=True)

    def _log_tail(self) -> str:
        """The last lines the current process wrote, without the notification token (the registry
        logs its endpoints' headers at level info)."""
        try:
            with self.settings.log_file.open("rb") as file:
                file.seek(self._log_offset)
                text = file.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        if self.settings.notify_token:
            text = text.replace(self.settings.notify_token, "***")
        lines = text.splitlines()[-_LOG_TAIL_LINES:]
        return "\n".join(lines) if lines else "(the log is empty)"

    def _unavailable(self, message: str) -> Unavailable:
        return Unavailable(
            message,
            context=RequestContext(registry=self.settings.address, operation="start local registry"),
            hint=f"last lines of {self.settings.log_file}:\n{self._log_tail()}",
        )


def _describe_exit(status: int | None) -> str:
    if status is not None and status < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-status).name}"
    return f"exited with status {status}"


def _port_taken(settings: LocalRegistrySettings) -> InvalidInput:
    return InvalidInput(f"{settings.address} is already in use by another program", hint=PORT_HINT)


def _check_port_free(settings: LocalRegistrySettings) -> None:
    """Fail before spawning: the registry's own bind error would only show up in its log."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    try:
        # create_server sets SO_REUSEADDR, so sockets in TIME_WAIT do not count as taken.
        with socket.create_server((settings.host, settings.port), family=family):
            pass
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise _port_taken(settings) from exc
        raise InvalidInput(
            f"the local registry cannot listen on {settings.address}: {exc.strerror or exc}",
            hint="use `--local-registry-host` and `--local-registry-port` with an address of this machine",
        ) from exc


async def _answers_v2(settings: LocalRegistrySettings, *, within: float) -> bool:
    request = f"GET /v2/ HTTP/1.1\r\nHost: {settings.address}\r\nConnection: close\r\n\r\n".encode()
    try:
        async with asyncio.timeout(within):
            reader, writer = await asyncio.open_connection(settings.host, settings.port)
            try:
                writer.write(request)
                await writer.drain()
                status_line = await reader.readline()
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    except (OSError, TimeoutError):
        return False
    parts = status_line.split()
    return len(parts) >= 2 and parts[0].startswith(b"HTTP/1.") and parts[1] == b"200"


def _write_pid_file(path: Path, pid: int) -> None:
    path.write_text(json.dumps({"pid": pid, "owner": os.getpid()}) + "\n", encoding="utf-8")


def _read_pid_file(path: Path) -> tuple[int, int] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return int(data["pid"]), int(data["owner"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remove_pid_file(path: Path, pid: int) -> None:
    found = _read_pid_file(path)
    if found is not None and found[0] == pid:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (dead, not yet reaped by its new parent) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _serves_config(pid: int, config: Path) -> bool:
    """Whether ``pid`` is a registry serving ``config``: pids are reused, so the pid alone proves
    nothing."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return len(argv) >= 3 and argv[1] == b"serve" and argv[2] == os.fsencode(config)


async def _kill_and_wait(pid: int, *, grace: float) -> None:
    """Stop a process that is not our child, so there is no ``wait()``: poll until it is gone."""
    polls = max(1, round(grace / _POLL_SECONDS))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        for _ in range(polls):
            if not _alive(pid):
                return
            await asyncio.sleep(_POLL_SECONDS)
