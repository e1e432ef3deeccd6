"""The API in-process: ``create_app`` over a real store (SQLite by default; PostgreSQL where a test
asks for both), a real ``ReplicationService`` whose dispatcher runs as a background task (so
started executions really run), the real ``ping_registry``, and a real docker-registry as the local
registry. Requests go through ``httpx.ASGITransport``; nothing of ferry is replaced.

``BOTH_DATABASES`` parametrizes a test over SQLite and PostgreSQL (the session's cluster from
``tests/conftest.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI

from ferry import __version__
from ferry.api.app import create_app
from ferry.auth.authenticator import ADMIN, Authenticator
from ferry.auth.passwords import hash_password
from ferry.auth.throttle import SignInThrottle
from ferry.jobs.dispatcher import DispatcherSettings
from ferry.jobs.health import ping_registry
from ferry.jobs.metrics import Metrics
from ferry.jobs.retry import TaskRetryPolicy
from ferry.jobs.service import ReplicationService
from ferry.replication.domain.registry import Registry, RegistryType, local_registry
from ferry.services import Services
from ferry.store import Store
from ferry.store.secrets import SecretBox
from tests.support.blobs import BlobSpec
from tests.support.images import build_image, push_image
from tests.support.net import free_port
from tests.support.registry import RegistryServer

API = "/api/v2.0"
BASE_URL = "http://ferry"
ADMIN_PASSWORD = "correct-horse-battery-staple"
CLIENT_ADDRESS = "203.0.113.7"
BOTH_DATABASES = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)

FAST_DISPATCH = DispatcherSettings(
    heartbeat_seconds=0.1,
    poll_seconds=0.05,
    retry=TaskRetryPolicy(attempts=1),
)
"""Stops are noticed within a tenth of a second; a failed task is not retried later."""

Json = dict[str, Any]


@functools.cache
def admin_password_hash() -> str:
    """Hashed once per session: scrypt is slow on purpose (``ensure_admin`` is tested on its own)."""
    return hash_password(ADMIN_PASSWORD)


class FakeMonotonic:
    """The sign-in throttle's clock, advanced by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'ferry.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(database_url, SecretBox([Fernet.generate_key().decode()]))
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def local(registry: RegistryServer) -> Registry:
    """The local registry ("Local", id 0): the plain ``registry`` fixture."""
    return local_registry(type=RegistryType.DOCKER_REGISTRY, url=registry.url, now=datetime.now(UTC))


@dataclass
class Ferry:
    app: FastAPI
    context: Services
    store: Store
    service: ReplicationService
    throttle: SignInThrottle
    monotonic: FakeMonotonic

    def client(
        self,
        auth: tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
        address: str = CLIENT_ADDRESS,
    ) -> httpx.AsyncClient:
        """A client of the app, calling from ``address``."""
        transport = httpx.ASGITransport(app=self.app, client=(address, 40_000))
        return httpx.AsyncClient(transport=transport, base_url=BASE_URL, auth=auth, headers=headers)


@pytest.fixture
async def ferry(store: Store, local: Registry) -> AsyncIterator[Ferry]:
    await store.accounts.set_password_hash(ADMIN, admin_password_hash(), now=datetime.now(UTC))
    monotonic = FakeMonotonic()
    throttle = SignInThrottle(monotonic=monotonic)
    metrics = Metrics(version=__version__)  # wired as ferry serve wires it
    store.execution_ends.subscribe(metrics.execution_ended)
    service = ReplicationService(store, local_registry=local, settings=FAST_DISPATCH, metrics=metrics)
    context = Services(
        store=store,
        service=service,
        authenticator=Authenticator(store.accounts, clock=lambda: datetime.now(UTC), throttle=throttle),
        local_registry=local,
        clock=lambda: datetime.now(UTC),
        ping=ping_registry,
        version=__version__,
        metrics=metrics,
    )
    dispatching = asyncio.create_task(service.dispatcher.run(), name="test-dispatcher")
    try:
        yield Ferry(create_app(context), context, store, service, throttle, monotonic)
    finally:
        dispatching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dispatching


@pytest.fixture
async def api(ferry: Ferry) -> AsyncIterator[httpx.AsyncClient]:
    """Signed in as admin with HTTP Basic."""
    async with ferry.client(auth=("admin", ADMIN_PASSWORD)) as client:
        yield client


@pytest.fixture
async def anonymous(ferry: Ferry) -> AsyncIterator[httpx.AsyncClient]:
    async with ferry.client() as client:
        yield client


@pytest.fixture
def closed_url() -> str:
    """A registry URL nothing listens on."""
    return f"http://127.0.0.1:{free_port()}"


# -- assertions and helpers ----------------------------------------------------------------------


def error_message(response: httpx.Response, status: int, code: str) -> str:
    """Assert Harbor's error body, exactly, and return its message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"errors"}
    assert len(body["errors"]) == 1
    (error,) = body["errors"]
    assert set(error) == {"code", "message"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    message: str = error["message"]
    return message


def created_id(response: httpx.Response, collection: str) -> int:
    """Assert Harbor's create answer (201, empty body, ``Location: <collection>/<id>``); the id."""
    assert response.status_code == 201, response.text
    assert response.content == b""
    location = response.headers["location"]
    prefix = f"{API}{collection}/"
    assert location.startswith(prefix), location
    return int(location.removeprefix(prefix))


def registry_body(name: str, url: str, **fields: Any) -> Json:
    return {"name": name, "type": "docker-registry", "url": url, **fields}


async def create_registry(client: httpx.AsyncClient, name: str, url: str, **fields: Any) -> int:
    return created_id(
        await client.post(f"{API}/registries", json=registry_body(name, url, **fields)), "/registries"
    )


def policy_body(name: str, dest: int, **fields: Any) -> Json:
    """A push rule as Harbor's UI posts it: Local (``src_registry: null``) → registry ``dest``."""
    return {
        "name": name,
        "src_registry": None,
        "dest_registry": {"id": dest},
        "dest_namespace": "mirror",
        "dest_namespace_replace_count": 1,
        "trigger": {"type": "manual", "trigger_settings": {"cron": ""}},
        "filters": [],
        "override": True,
        "enabled": True,
        **fields,
    }


async def create_policy(client: httpx.AsyncClient, name: str, dest: int, **fields: Any) -> int:
    response = await client.post(f"{API}/replication/policies", json=policy_body(name, dest, **fields))
    return created_id(response, "/replication/policies")


async def start_execution(client: httpx.AsyncClient, policy_id: int) -> int:
    response = await client.post(f"{API}/replication/executions", json={"policy_id": policy_id})
    return created_id(response, "/replication/executions")


async def get_json(client: httpx.AsyncClient, path: str) -> Any:
    response = await client.get(f"{API}{path}")
    assert response.status_code == 200, response.text
    return response.json()


async def poll(
    probe: Callable[[], Awaitable[Any]],
    done: Callable[[Any], bool],
    *,
    timeout: float = 30.0,
    what: str = "condition",
) -> Any:
    """Call ``probe`` until ``done(result)`` or the deadline; a short pause between calls."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {result!r}")
        await asyncio.sleep(0.05)


async def finished_execution(client: httpx.AsyncClient, execution_id: int, *, timeout: float = 30.0) -> Json:
    result: Json = await poll(
        lambda: get_json(client, f"/replication/executions/{execution_id}"),
        lambda execution: execution["status"] != "InProgress",
        timeout=timeout,
        what=f"execution {execution_id} to end",
    )
    return result


def seed_image(registry: RegistryServer, repository: str, tag: str, *, seed: int = 1) -> str:
    """Push a small image; its manifest digest."""
    return push_image(registry, repository, tag, build_image([BlobSpec(2_000, seed=seed)]))


# -- a registry that never answers ---------------------------------------------------------------


class HangingRegistry:
    """Answers ``GET /v2/`` (so a ping passes) and holds every other request open, unanswered,
    until it is closed: a copy to it stays in progress for as long as the test needs."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.held: list[str] = []
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> HangingRegistry:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line = head.split(b"\r\n", 1)[0].decode()
                method, target, _ = request_line.split(" ", 2)
                if method == "GET" and target == "/v2/":
                    body = json.dumps({}).encode()
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Docker-Distribution-API-Version: registry/2.0\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                    )
                    await writer.drain()
                    continue
                self.held.append(f"{method} {target}")
                await reader.read()  # until the client gives up or the registry is closed
                return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()


@pytest.fixture
async def hanging() -> AsyncIterator[HangingRegistry]:
    registry = await HangingRegistry().start()
    try:
        yield registry
    finally:
        await registry.close()
