"""Shared fixtures: real ``docker-registry`` servers in every flavour the product must talk to.

Registries start in ~30 ms, so fixtures are function-scoped: every test gets
empty storage and cannot be affected by another test's pushes.  When a test
fails, the tail of each involved registry's log is printed in the teardown
section of the report.  A PostgreSQL cluster takes ~1 s to start, so there is
one per session (``postgres_server``) and each test gets a fresh database
(``postgres_url``).  Nothing here imports ``ferry``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.support.ferry_server import FerryServer, start_ferry_server
from tests.support.postgres import PostgresServer, PostgresUnavailable, database_name, start_postgres
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


@pytest.fixture(scope="module")
def ferry_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FerryServer]:
    """A real ``ferry serve`` (subprocess, managed local registry, random admin password in
    ``FERRY_ADMIN_PASSWORD``), one per test module; stopped at teardown, which fails if ferry did
    not exit cleanly or left its registry running."""
    with start_ferry_server(tmp_path_factory.mktemp("ferry_server")) as server:
        yield server


def _start_postgres_or_fail(directory: Path) -> PostgresServer:
    """``start_postgres``, with "not installed" turned into a failure that says how to install it."""
    try:
        return start_postgres(directory)
    except PostgresUnavailable as exc:
        reason = str(exc)  # fail outside the except block, or pytest prints the message twice
    pytest.fail(reason, pytrace=False)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One real PostgreSQL cluster for the whole session (superuser ``ferry``, trust auth, 127.0.0.1).

    Fails (does not skip) when PostgreSQL is not installed: the message says to run
    ``bash scripts/bootstrap.sh``.
    """
    server = _start_postgres_or_fail(tmp_path_factory.mktemp("postgres"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """SQLAlchemy URL (``postgresql+psycopg://``) of a new, empty database, dropped after the test.

    When the test fails, what the server logged during it (if anything) is printed.
    """
    name = database_name(request.node.name)
    log_start = postgres_server.log_size()
    url = postgres_server.create_database(name)
    try:
        yield url
    finally:
        logged = postgres_server.log_text(log_start)
        if request.node.stash.get(_FAILED, False) and logged:
            print(f"--- PostgreSQL log during the test (database {name}) ---")
            print(logged[-4000:])
        postgres_server.drop_database(name)
