"""The managed local registry against the real ``docker-registry`` binary: start, storage,
notifications back to ferry, restarts after a crash, and the errors a first run can meet."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import signal
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from ferry.errors import InvalidInput, Unavailable
from ferry.jobs.local_registry import LocalRegistry, LocalRegistrySettings, find_registry_binary, write_config
from tests.support.net import BackgroundServer, free_port

T = TypeVar("T")
ENVELOPE = "application/vnd.docker.distribution.events.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
TOKEN = "notify-secret-42"


def _settings(root: Path, **overrides: Any) -> LocalRegistrySettings:
    return LocalRegistrySettings(root=root, port=free_port(), restart_delay=0.1, **overrides)


@pytest.fixture
async def local_registry(tmp_path: Path) -> AsyncIterator[LocalRegistry]:
    async with LocalRegistry(_settings(tmp_path / "registry")) as registry:
        yield registry


async def _eventually(probe: Callable[[], Awaitable[T | None]], *, timeout: float = 20.0, what: str) -> T:
    """Poll ``probe`` until it returns a value, failing with ``what`` after ``timeout``."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                result = await probe()
                if result is not None:
                    return result
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def _push_blob(client: httpx.AsyncClient, repository: str, data: bytes) -> str:
    """Monolithic upload: POST for a session, one PUT with the whole body."""
    started = await client.post(f"/v2/{repository}/blobs/uploads/")
    assert started.status_code == 202, started.text
    digest = _digest(data)
    # Location carries the upload's ``_state``; ``params=`` would replace it, so merge.
    url = client.base_url.join(started.headers["Location"]).copy_merge_params({"digest": digest})
    done = await client.put(
        url,
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert done.status_code == 201, done.text
    return digest


async def _push_image(client: httpx.AsyncClient, repository: str, tag: str) -> None:
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()
    layer = b"a layer that is not a real tarball"
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": len(config),
            "digest": await _push_blob(client, repository, config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": len(layer),
                "digest": await _push_blob(client, repository, layer),
            }
        ],
    }
    put = await client.put(
        f"/v2/{repository}/manifests/{tag}",
        content=json.dumps(manifest).encode(),
        headers={"Content-Type": DOCKER_MANIFEST},
    )
    assert put.status_code == 201, put.text


class Receiver(BackgroundServer):
    """Records every notification request: its headers and its decoded envelope."""

    thread_name = "notification-receiver"

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        lock = self._lock = threading.Lock()
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    received.append((dict(self.headers.items()), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/service/notifications/registry"

    def find(self, action: str, media_type: str) -> tuple[dict[str, str], dict[str, Any]] | None:
        with self._lock:
            for headers, envelope in self.requests:
                for event in envelope.get("events", []):
                    if event.get("action") == action and event["target"].get("mediaType") == media_type:
                        return headers, event
        return None


def _fake_binary(tmp_path: Path, script: str) -> str:
    path = tmp_path / "fake-registry"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return str(path)


async def test_started_registry_answers_v2(local_registry: LocalRegistry) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{local_registry.url}/v2/")

    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_pushed_blob_lands_under_root_storage(local_registry: LocalRegistry) -> None:
    data = b"hello from ferry"
    async with httpx.AsyncClient(base_url=local_registry.url) as client:
        digest = await _push_blob(client, "library/app", data)

    hex_digest = digest.removeprefix("sha256:")
    blobs = local_registry.settings.storage_dir / "docker/registry/v2/blobs/sha256"
    assert (blobs / hex_digest[:2] / hex_digest / "data").read_bytes() == data


async def test_push_notifies_ferry_with_the_bearer_token(tmp_path: Path) -> None:
    with Receiver() as receiver:
        settings = _settings(tmp_path, notify_url=receiver.url, notify_token=TOKEN)
        async with LocalRegistry(settings) as registry, httpx.AsyncClient(base_url=registry.url) as client:
            await _push_image(client, "library/app", "v1")

            async def pushed() -> tuple[dict[str, str], dict[str, Any]] | None:
                return receiver.find("push", DOCKER_MANIFEST)

            headers, event = await _eventually(pushed, what="a manifest push notification")

    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Content-Type"].startswith(ENVELOPE)
    assert event["target"]["repository"] == "library/app"
    assert event["target"]["tag"] == "v1"


async def test_killed_registry_is_restarted(
    local_registry: LocalRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ferry.local_registry")
    first_pid = local_registry.pid
    assert first_pid is not None

    os.kill(first_pid, signal.SIGKILL)

    async def answering_again() -> bool | None:
        restarted = local_registry.restarts >= 1 and local_registry.pid not in (None, first_pid)
        return True if restarted and await local_registry.probe() else None

    await _eventually(answering_again, what="the registry to answer again after kill -9")
    assert any("restarting the local registry" in record.getMessage() for record in caplog.records)


async def test_taken_port_is_refused_with_its_address(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        registry = LocalRegistry(LocalRegistrySettings(root=tmp_path, port=port))

        with pytest.raises(InvalidInput, match=f"127.0.0.1:{port}") as caught:
            await registry.start()

    assert "--local-registry-port" in str(caught.value)
    assert registry.pid is None


async def test_missing_binary_says_how_to_install_it(tmp_path: Path) -> None:
    registry = LocalRegistry(_settings(tmp_path, binary="/nonexistent/registry"))

    with pytest.raises(InvalidInput) as caught:
        await registry.start()

    assert caught.value.hint is not None
    assert "apt-get install docker-registry" in caught.value.hint


def test_default_binary_is_found_on_path() -> None:
    assert Path(find_registry_binary()).name in ("docker-registry", "registry")


async def test_early_exit_quotes_the_log_without_the_token(tmp_path: Path) -> None:
    binary = _fake_binary(tmp_path, 'cat "$2"; echo "fatal: storage is broken"; exit 3')
    settings = _settings(
        tmp_path / "registry", binary=binary, notify_url="http://127.0.0.1:9/x", notify_token=TOKEN
    )

    with pytest.raises(Unavailable) as caught:
        await LocalRegistry(settings).start()

    message = str(caught.value)
    assert "status 3" in message
    assert "fatal: storage is broken" in message
    assert TOKEN not in message


async def test_registry_that_never_answers_times_out(tmp_path: Path) -> None:
    binary = _fake_binary(tmp_path, "exec sleep 60")
    registry = LocalRegistry(_settings(tmp_path / "registry", binary=binary, startup_timeout=0.5))

    with pytest.raises(Unavailable, match="did not answer"):
        await registry.start()

    assert registry.pid is None


async def test_stop_is_idempotent_and_leaves_no_process(tmp_path: Path) -> None:
    registry = LocalRegistry(_settings(tmp_path))
    await registry.start()
    pid = registry.pid
    assert pid is not None

    await registry.stop()
    await registry.stop()

    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert registry.pid is None
    assert not registry.settings.pid_file.exists()


async def test_stop_before_start_does_nothing(tmp_path: Path) -> None:
    await LocalRegistry(_settings(tmp_path)).stop()


async def test_registry_left_by_a_killed_ferry_is_replaced(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.storage_dir.mkdir(parents=True)
    orphan = await asyncio.create_subprocess_exec(
        find_registry_binary(),
        "serve",
        str(write_config(settings)),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # A pid that no longer runs stands for the ferry that was killed.
        settings.pid_file.write_text(json.dumps({"pid": orphan.pid, "owner": await _exited_pid()}))

        async with LocalRegistry(settings) as registry:
            assert await asyncio.wait_for(orphan.wait(), 10) is not None
            assert registry.pid not in (None, orphan.pid)
            assert await registry.probe()
    finally:
        if orphan.returncode is None:
            orphan.kill()
            await orphan.wait()


async def _exited_pid() -> int:
    process = await asyncio.create_subprocess_exec("true")
    await process.wait()
    return process.pid
