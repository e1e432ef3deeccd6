"""``ferry serve`` as a user starts it: the first start prints a generated admin password once,
a restart keeps it, a taken port is explained, and stopping leaves no registry behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.net import free_port, wait_until

FERRY = [sys.executable, "-m", "ferry.cli.main"]
PASSWORD_LINE = re.compile(r"admin password: (\S+)")


class Served:
    def __init__(self, process: subprocess.Popen[str], port: int, output: Path) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.output = output

    def text(self) -> str:
        return self.output.read_text()

    def health(self) -> dict[str, object] | None:
        try:
            reply = httpx.get(f"{self.url}/api/v2.0/health", timeout=2)
        except httpx.TransportError:
            return None
        body: dict[str, object] = reply.json()
        return body


@contextmanager
def served(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, stop: signal.Signals = signal.SIGTERM
) -> Iterator[Served]:
    port = free_port()
    output = data_dir.parent / f"serve-{port}.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
    with output.open("w") as sink:
        process = subprocess.Popen(
            [*FERRY, "serve", "--data-dir", str(data_dir), "--port", str(port), *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            env={**environ, **(env or {})},
        )
    running = Served(process, port, output)
    try:
        wait_until(
            lambda: True if "ferry is running" in running.text() else None,
            timeout=60,
            what=f"ferry serve to start; output so far:\n{running.text()}",
        )
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(stop)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _registry_pid(data_dir: Path) -> int:
    pid: int = json.loads((data_dir / "registry" / "registry.pid").read_text())["pid"]
    return pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


def test_first_start_prints_a_password_once_and_it_keeps_working(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    registry_port = str(free_port())
    with served(data_dir, "--local-registry-port", registry_port) as first:
        found = PASSWORD_LINE.search(first.text())
        assert found, first.text()
        password = found.group(1)
        assert f"local registry: http://127.0.0.1:{registry_port}" in first.text()
        policies = httpx.get(f"{first.url}/api/v2.0/replication/policies", auth=("admin", password))
        assert policies.status_code == 200
        assert policies.json() == []
        refused = httpx.get(f"{first.url}/api/v2.0/replication/policies", auth=("admin", "admin"))
        assert refused.status_code == 401
        health = first.health()
        assert health is not None
        assert health["status"] == "healthy"
        registry_pid = _registry_pid(data_dir)
        assert _alive(registry_pid)
    assert first.process.returncode == 0, first.text()
    assert not _alive(registry_pid), "the managed registry outlived ferry serve"
    assert oct((data_dir / "secret.key").stat().st_mode & 0o777) == "0o600"
    assert password not in (data_dir / "ferry.db").read_bytes().decode("latin-1")

    with served(data_dir, "--local-registry-port", registry_port) as second:
        assert "admin password:" not in second.text()
        again = httpx.get(f"{second.url}/api/v2.0/replication/policies", auth=("admin", password))
        assert again.status_code == 200


def test_admin_password_from_the_environment(tmp_path: Path) -> None:
    env = {"FERRY_ADMIN_PASSWORD": "correct horse battery"}
    with served(tmp_path / "data", "--local-registry", "none", env=env) as running:
        assert "admin password:" not in running.text()
        assert "local registry: none" in running.text()
        reply = httpx.get(
            f"{running.url}/api/v2.0/registries", auth=("admin", "correct horse battery"), timeout=10
        )
        assert reply.status_code == 200
        health = running.health()
        assert health is not None
        assert [item["name"] for item in health["components"]] == ["core", "database"]  # type: ignore[attr-defined]


def test_a_taken_port_is_explained(tmp_path: Path) -> None:
    with served(tmp_path / "one", "--local-registry", "none") as running:
        port = running.url.rsplit(":", 1)[1]
        result = subprocess.run(
            [
                *FERRY,
                "serve",
                "--data-dir",
                str(tmp_path / "two"),
                "--port",
                port,
                "--local-registry",
                "none",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_too_short_admin_password_is_refused(tmp_path: Path) -> None:
    password = "short"
    result = subprocess.run(
        [
            *FERRY,
            "serve",
            "--data-dir",
            str(tmp_path),
            "--port",
            str(free_port()),
            "--local-registry",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "FERRY_ADMIN_PASSWORD": password},
    )
    assert result.returncode == 1
    assert "at least 8" in result.stderr
    assert password not in result.stderr.replace("FERRY_ADMIN_PASSWORD", "")


def test_closing_the_terminal_stops_the_managed_registry_too(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with served(data_dir, "--local-registry-port", str(free_port()), stop=signal.SIGHUP) as running:
        registry_pid = _registry_pid(data_dir)
    assert running.process.returncode == 0, running.text()
    assert not _alive(registry_pid), "the managed registry outlived ferry serve after SIGHUP"
