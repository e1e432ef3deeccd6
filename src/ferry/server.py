"""``ferry serve``'s composition root: read the settings once, open the store, make sure an admin
account exists, start the local registry, and run the API and the web UI, the dispatcher, the
scheduler (cron triggers), the event processor (event-based triggers), the watcher (event-based
policies whose source sends no events) and the health refresh side by side until a signal stops
them.

Why the socket is bound here rather than by uvicorn: uvicorn exits the process when the port is
taken; binding first turns that into an error that names the port and the flag that changes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import inspect
import logging
import re
import secrets
import signal
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount

from ferry import __version__
from ferry.api.app import create_app
from ferry.api.errors import error_response
from ferry.auth.authenticator import Authenticator, ensure_admin
from ferry.errors import InvalidInput
from ferry.jobs.dispatcher import DispatcherSettings
from ferry.jobs.events import EventProcessor
from ferry.jobs.health import ping_registry, refresh_health_forever
from ferry.jobs.identity import worker_identity
from ferry.jobs.local_registry import LocalRegistry, LocalRegistrySettings
from ferry.jobs.metrics import Metrics
from ferry.jobs.scheduler import Scheduler
from ferry.jobs.service import ReplicationService, open_store, queue_url_for
from ferry.jobs.watcher import Watcher
from ferry.notify.notifier import Notifier
from ferry.replication.domain.registry import Registry, RegistryType, local_registry
from ferry.services import Services
from ferry.store import Store
from ferry.web.app import create_web_app
from ferry.web.sessions import WebSettings

MANAGED = "managed"
NOTIFY_TOKEN_FILE = "notify.token"
SESSION_KEY_FILE = "session.key"
NOTIFICATIONS_PATH = "/service/notifications/registry"

log = logging.getLogger("ferry.server")


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    admin_password: str | None = field(default=None, repr=False)
    local_registry: str | None = MANAGED
    """``managed`` (start docker-registry), a registry URL to attach to, or None for none."""
    local_registry_port: int = 5000
    dispatcher: DispatcherSettings = field(default_factory=DispatcherSettings)
    task_queue: bool | None = None
    """Share work through the task queue; None: when the database is PostgreSQL."""
    health_refresh_seconds: float = 300.0
    metrics_auth: bool = False
    """``/metrics`` asks for the API's sign-in (it answers without by default)."""

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@dataclass(frozen=True)
class Ready:
    """What ``ferry serve`` prints once it answers."""

    url: str
    local_registry_url: str | None
    generated_password: str | None
    data_dir: Path


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InvalidInput(
                f"port {port} on {host} is already in use (another ferry serve?)",
                hint="stop the other process, or choose another port with --port",
            ) from exc
        raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror}", hint="check --host") from exc
    sock.listen(128)
    sock.setblocking(False)
    return sock


def notify_token(data_dir: Path) -> str:
    """The shared secret the managed registry sends with its notifications; kept in the data dir."""
    return _kept_secret(data_dir / NOTIFY_TOKEN_FILE)


def session_key(data_dir: Path) -> bytes:
    """The key that signs the web UI's session cookies; kept in the data dir, so sessions survive
    a restart. Deleting the file signs everyone out."""
    return _kept_secret(data_dir / SESSION_KEY_FILE).encode()


def _kept_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(secret + "\n")
    return secret


def create_service_app(services: Services, *, web: WebSettings) -> FastAPI:
    """The web UI at ``/`` and ``/ui/...``; every other path goes to the API app, which answers
    ``/api/v2.0``, ``/metrics`` and the event receivers (and its JSON 404 for the rest)."""
    app = create_web_app(services, web)
    app.mount("/", create_app(services))
    # Starlette's catch-all mount pattern ("/{path:path}" → ".*") stops at a newline, which a
    # percent-encoded path parameter may hold: let it match every path, so the API answers those
    # too (400 for a path parameter of the wrong type) instead of the UI app's 404.
    catch_all = app.router.routes[-1]
    if isinstance(catch_all, Mount):
        catch_all.path_regex = re.compile(catch_all.path_regex.pattern, re.DOTALL)
    web_errors = app.exception_handlers[HTTPException]

    async def on_http_error(request: Request, exc: Exception) -> Response:
        # A path the mount cannot match (a newline in it, say) ends here, in the web app: outside
        # the UI it still gets the API's JSON error body, as every API client expects.
        path = request.url.path
        if path == "/" or path == "/ui" or path.startswith("/ui/"):
            shown = web_errors(request, exc)
            return await shown if inspect.isawaitable(shown) else shown
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return error_response(status, "not found" if status == 404 else "request failed")

    app.add_exception_handler(HTTPException, on_http_error)
    return app


def public_hostname(host: str) -> str:
    """The name webhooks give this ferry (Harbor's ``harbor_hostname``): the listen address, or the
    machine's name when ferry listens on every address."""
    return socket.getfqdn() if host in {"", "0.0.0.0", "::"} else host


async def serve(settings: ServerSettings, *, on_ready: Callable[[Ready], None]) -> None:
    sock = bind_socket(settings.host, settings.port)
    store = await open_store(
        settings.data_dir, database_url=settings.database_url, key_text=settings.secret_key
    )
    managed: LocalRegistry | None = None
    try:
        generated = await ensure_admin(
            store.accounts, password=settings.admin_password, now=datetime.now(UTC)
        )
        local, managed = await _local_registry(settings)
        services = build_services(settings, store, local)
        config = uvicorn.Config(
            create_service_app(services, web=WebSettings(session_key=session_key(settings.data_dir))),
            log_level="warning",
            lifespan="off",
            server_header=False,
            access_log=False,
        )
        ready = Ready(settings.url, local.url if local else None, generated, settings.data_dir)
        server = _AnnouncingServer(config, lambda: on_ready(ready))
        background = start_background_work(settings, services)
        try:
            await server.serve(sockets=[sock])
        finally:
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    finally:
        sock.close()
        if managed is not None:
            await managed.stop()
        await store.close()


def build_services(settings: ServerSettings, store: Store, local: Registry | None) -> Services:
    """Everything the API and the web UI call, wired once: the replication service (and its task
    queue on PostgreSQL), metrics, the event processor and the webhook notifier."""
    metrics = Metrics(version=__version__)
    store.execution_ends.subscribe(metrics.execution_ended)
    service = ReplicationService(
        store,
        local_registry=local,
        settings=settings.dispatcher,
        metrics=metrics,
        queue_url=queue_url_for(settings.database_url, settings.task_queue),
    )
    notifier = Notifier(
        store, local_registry=local, hostname=public_hostname(settings.host), owner=worker_identity()
    )
    store.execution_ends.subscribe(lambda ended: notifier.wake())
    return Services(
        store=store,
        service=service,
        authenticator=Authenticator(store.accounts, clock=lambda: datetime.now(UTC)),
        local_registry=local,
        clock=lambda: datetime.now(UTC),
        ping=ping_registry,
        version=__version__,
        metrics=metrics,
        metrics_sign_in=settings.metrics_auth,
        notify_token=notify_token(settings.data_dir),
        events=EventProcessor(service),
        notifier=notifier,
    )


def start_background_work(settings: ServerSettings, services: Services) -> list[asyncio.Task[None]]:
    """The loops that run beside the API until the server stops: the workers, the health refresh,
    the cron tick, event handling, webhook delivery and the watcher of remote sources."""
    service = services.service
    loops: list[tuple[str, Coroutine[Any, Any, None]]] = [
        ("ferry-workers", service.run_workers()),
        (
            "ferry-health",
            refresh_health_forever(services.store, every_seconds=settings.health_refresh_seconds),
        ),
        ("ferry-scheduler", Scheduler(service).run()),
        ("ferry-watcher", Watcher(service, observer=services.metrics).run()),
    ]
    if services.events is not None:
        loops.append(("ferry-events", services.events.run()))
    if services.notifier is not None:
        loops.append(("ferry-webhooks", services.notifier.run()))
    return [asyncio.create_task(loop, name=name) for name, loop in loops]


class _AnnouncingServer(uvicorn.Server):
    """Calls ``on_ready`` once the socket accepts requests. A stop signal (INT, TERM, or HUP when
    the terminal closes) ends ``serve`` normally:
    uvicorn would re-raise it at once, killing the process before ferry releases its tasks, stops
    the managed registry and closes the database."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_ready()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {
            sig: signal.signal(sig, self.handle_exit)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


async def _local_registry(settings: ServerSettings) -> tuple[Registry | None, LocalRegistry | None]:
    now = datetime.now(UTC)
    if settings.local_registry is None:
        return None, None
    if settings.local_registry != MANAGED:
        return local_registry(type=RegistryType.DOCKER_REGISTRY, url=settings.local_registry, now=now), None
    managed = LocalRegistry(
        LocalRegistrySettings(
            root=settings.data_dir / "registry",
            port=settings.local_registry_port,
            notify_url=settings.url + NOTIFICATIONS_PATH,
            notify_token=notify_token(settings.data_dir),
        )
    )
    await managed.start()
    return local_registry(type=RegistryType.DOCKER_REGISTRY, url=managed.url, now=now), managed
