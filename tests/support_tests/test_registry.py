"""The registry launcher starts every flavour and cleans up after itself."""

from __future__ import annotations

import ast
import ssl
from pathlib import Path

import httpx
import pytest

from tests.support.registry import RegistryServer, start_registry
from tests.support.tokenserver import TokenServer

SUPPORT = Path(__file__).parents[1] / "support"


def test_support_code_never_imports_ferry() -> None:
    for module in [*SUPPORT.glob("*.py"), SUPPORT.parent / "conftest.py"]:
        for node in ast.walk(ast.parse(module.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n == "ferry" or n.startswith("ferry.") for n in names), module


def test_plain_registry_answers_v2(registry: RegistryServer) -> None:
    assert registry.url == f"http://{registry.host}"
    assert (registry.username, registry.password, registry.ca_file) == (None, None, None)
    assert httpx.get(f"{registry.url}/v2/").status_code == 200


def test_basic_registry_requires_credentials(basic_registry: RegistryServer) -> None:
    unauthenticated = httpx.get(f"{basic_registry.url}/v2/")
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["WWW-Authenticate"].startswith("Basic ")
    assert basic_registry.username is not None
    assert basic_registry.password is not None
    creds = (basic_registry.username, basic_registry.password)
    assert httpx.get(f"{basic_registry.url}/v2/", auth=creds).status_code == 200
    assert httpx.get(f"{basic_registry.url}/v2/", auth=(basic_registry.username, "wrong")).status_code == 401


def test_tls_registry_is_trusted_only_with_its_ca(tls_registry: RegistryServer) -> None:
    assert tls_registry.url.startswith("https://")
    assert tls_registry.ca_file is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{tls_registry.url}/v2/")
    ctx = ssl.create_default_context(cafile=str(tls_registry.ca_file))
    assert tls_registry.username is not None
    auth = (tls_registry.username, tls_registry.password or "")
    assert httpx.get(f"{tls_registry.url}/v2/", verify=ctx, auth=auth).status_code == 200
    # the certificate also covers "localhost"
    assert httpx.get(f"https://localhost:{tls_registry.port}/v2/", verify=ctx, auth=auth).status_code == 200


def test_token_registry_challenges_with_the_token_servers_realm(
    token_registry: RegistryServer, token_server: TokenServer
) -> None:
    challenge = httpx.get(f"{token_registry.url}/v2/").headers["WWW-Authenticate"]
    assert challenge == f'Bearer realm="{token_server.realm}",service="{token_server.service}"'


def test_stop_kills_the_process_and_keeps_the_log(tmp_path: Path) -> None:
    server = start_registry(tmp_path)
    proc = server.process
    assert proc is not None
    httpx.get(f"{server.url}/v2/nothing/tags/list")  # produces a warn-level log line
    server.stop()
    assert proc.poll() is not None
    assert server.process is None
    server.stop()  # idempotent
    assert "nothing" in server.log_text()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/v2/")


def test_token_auth_without_token_server_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="token_server"):
        start_registry(tmp_path, auth="token")
