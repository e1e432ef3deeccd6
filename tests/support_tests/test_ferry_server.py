"""``tests.support.ferry_server``: the real ``ferry serve`` starts, answers, and stopping it is checked."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.support.ferry_server import pid_alive, start_ferry_server
from tests.support.net import wait_until


def test_serves_the_api_and_the_local_registry_then_stops_cleanly(tmp_path: Path) -> None:
    server = start_ferry_server(tmp_path)
    try:
        assert httpx.get(f"{server.api}/health", timeout=30).status_code == 200
        with server.client() as api:
            assert api.get("/registries").status_code == 200
        assert httpx.get(f"{server.local_registry_url}/v2/", timeout=30).status_code == 200
        registry = server.registry_pid()
        assert registry is not None
        assert pid_alive(registry)
    finally:
        server.stop()
    assert not pid_alive(registry)
    server.stop()  # idempotent


def test_a_registry_left_behind_is_reported_and_killed(tmp_path: Path) -> None:
    server = start_ferry_server(tmp_path)
    registry = server.registry_pid()
    assert registry is not None
    assert server.process is not None
    server.process.send_signal(signal.SIGKILL)  # ferry gets no chance to stop its registry
    server.process.wait()

    with pytest.raises(AssertionError, match="outlived ferry serve"):
        server.stop()

    wait_until(lambda: None if pid_alive(registry) else True, timeout=10, what="the leftover registry to end")
