"""Shared fixtures: real ``docker-registry`` servers in every flavour the product must talk to.

Registries start in ~30 ms, so fixtures are function-scoped: every test gets
empty storage and cannot be affected by another test's pushes.  When a test
fails, the tail of each involved registry's log is printed in the teardown
section of the report.  Nothing here imports ``ferry``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from tests.support.registry import RegistryServer, start_registry
from tests.support.tokenserver import TokenServer

_FAILED = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--skip-slow", action="store_true", help="deselect tests marked slow (large transfers)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--skip-slow"):
        return
    skip = pytest.mark.skip(reason="--skip-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        item.stash[_FAILED] = True
    return report


def _serve(request: pytest.FixtureRequest, server: RegistryServer) -> Iterator[RegistryServer]:
    try:
        yield server
    finally:
        server.stop()
        if request.node.stash.get(_FAILED, False):
            print(f"--- {server.url} ({server.auth}, tls={server.tls}) log tail ---")
            print(server.log_text()[-4000:])


@pytest.fixture
def registry(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[RegistryServer]:
    """Plain HTTP, no auth."""
    yield from _serve(request, start_registry(tmp_path_factory.mktemp("registry")))


@pytest.fixture
def registry_b(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[RegistryServer]:
    """A second, independent plain registry (replication destination)."""
    yield from _serve(request, start_registry(tmp_path_factory.mktemp("registry_b")))


@pytest.fixture
def basic_registry(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[RegistryServer]:
    """HTTP Basic auth (htpasswd, bcrypt); credentials in ``.username``/``.password``."""
    yield from _serve(request, start_registry(tmp_path_factory.mktemp("basic_registry"), auth="htpasswd"))


@pytest.fixture
def tls_registry(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[RegistryServer]:
    """HTTPS (test CA in ``.ca_file``) plus htpasswd auth."""
    workdir = tmp_path_factory.mktemp("tls_registry")
    yield from _serve(request, start_registry(workdir, auth="htpasswd", tls=True))


@pytest.fixture
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenServer]:
    """A started token server; tweak ``expires_in``/``field``/``anonymous_pull`` before use if needed."""
    with TokenServer(tmp_path_factory.mktemp("token_server")) as server:
        yield server


@pytest.fixture
def token_registry(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, token_server: TokenServer
) -> Iterator[RegistryServer]:
    """Bearer-token auth against ``token_server`` (reachable as ``.token_server``)."""
    workdir = tmp_path_factory.mktemp("token_registry")
    yield from _serve(request, start_registry(workdir, auth="token", token_server=token_server))
