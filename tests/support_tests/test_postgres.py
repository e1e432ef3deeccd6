"""The PostgreSQL launcher: a working database per test, isolation between databases, a real stop."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.postgres import (
    PostgresServer,
    PostgresUnavailable,
    database_name,
    find_bindir,
    start_postgres,
)


def _dbname(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_postgres_url_is_an_empty_usable_database(postgres_url: str, postgres_server: PostgresServer) -> None:
    assert postgres_url.startswith(f"postgresql+psycopg://ferry@127.0.0.1:{postgres_server.port}/")
    with psycopg.connect(postgres_server.dsn_for(_dbname(postgres_url))) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO items (name) VALUES (%s), (%s)", ["alpine", "ümlaut ✓"])
        conn.commit()
    with psycopg.connect(postgres_server.dsn_for(_dbname(postgres_url))) as conn:
        rows = conn.execute("SELECT id, name FROM items ORDER BY id").fetchall()
        assert rows == [(1, "alpine"), (2, "ümlaut ✓")]
        assert conn.execute("SHOW server_encoding").fetchone() == ("UTF8",)
        assert conn.execute("SHOW fsync").fetchone() == ("off",)


async def test_postgres_url_works_with_sqlalchemy_async(postgres_url: str) -> None:
    engine = create_async_engine(postgres_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT current_database()"))).scalar() == _dbname(postgres_url)
    finally:
        await engine.dispose()


def test_databases_do_not_see_each_others_tables(postgres_server: PostgresServer) -> None:
    first, second = database_name("isolation a"), database_name("isolation b")
    postgres_server.create_database(first)
    postgres_server.create_database(second)
    try:
        with postgres_server.connect(first) as conn:
            conn.execute("CREATE TABLE items (name text)")
            conn.execute("INSERT INTO items VALUES ('only in the first')")
        with postgres_server.connect(second) as conn:
            assert conn.execute("SELECT to_regclass('items')").fetchone() == (None,)
            conn.execute("CREATE TABLE items (name text)")  # same name, no clash
            conn.execute("INSERT INTO items VALUES ('only in the second')")
            assert conn.execute("SELECT name FROM items").fetchall() == [("only in the second",)]
        with postgres_server.connect(first) as conn:
            assert conn.execute("SELECT name FROM items").fetchall() == [("only in the first",)]
    finally:
        postgres_server.drop_database(first)
        postgres_server.drop_database(second)


def test_drop_database_closes_connections_still_open(postgres_server: PostgresServer) -> None:
    name = database_name("dropped")
    postgres_server.create_database(name)
    with postgres_server.connect(name) as leaked:
        postgres_server.drop_database(name)
        with pytest.raises(psycopg.OperationalError):
            leaked.execute("SELECT 1")
    with postgres_server.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [name]).fetchone() == (0,)
    postgres_server.drop_database(name)  # already gone: fine


def test_stop_stops_the_server_and_deletes_the_cluster(tmp_path: Path) -> None:
    server = start_postgres(tmp_path)
    assert server.process is not None
    postmaster = server.process
    open_connection = server.connect()
    assert open_connection.execute("SELECT 1").fetchone() == (1,)
    assert server.cluster_dir.is_dir()

    server.stop()

    assert postmaster.poll() is not None
    assert server.process is None
    assert not server.cluster_dir.exists()
    with pytest.raises(psycopg.OperationalError):
        open_connection.execute("SELECT 1")
    with pytest.raises(psycopg.OperationalError):
        server.connect()
    with socket.socket() as sock:  # the port is free again (as a server would bind it: TIME_WAIT is fine)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", server.port))
    assert "received immediate shutdown request" in server.log_text()  # the log outlives the cluster
    server.stop()  # idempotent


def _fake_bindir(root: Path, version: str, tools: tuple[str, ...] = ("initdb", "postgres")) -> Path:
    bindir = root / version / "bin"
    bindir.mkdir(parents=True)
    for tool in tools:
        (bindir / tool).write_text("#!/bin/sh\n")
        (bindir / tool).chmod(stat.S_IRWXU)
    return bindir


def test_find_bindir_takes_the_highest_complete_version(tmp_path: Path) -> None:
    _fake_bindir(tmp_path, "9.6")
    newest_complete = _fake_bindir(tmp_path, "15")
    _fake_bindir(tmp_path, "16", tools=("initdb",))  # client-only leftovers do not count
    assert find_bindir([tmp_path], path="") == newest_complete


def test_missing_postgres_says_to_run_bootstrap(tmp_path: Path) -> None:
    with pytest.raises(PostgresUnavailable, match=r"run `bash scripts/bootstrap\.sh`"):
        find_bindir([tmp_path], path=str(tmp_path))


def test_database_names_are_unique_and_valid() -> None:
    label = "test_copy[registry-a/b: ÜBER " + "x" * 100 + "]"
    names = {database_name(label) for _ in range(3)}
    assert len(names) == 3
    for name in names:
        assert len(name) <= 63
        assert name.replace("_", "").isalnum()
        assert name.isascii()
        assert name == name.lower()
        assert name.startswith("t")
        assert "_test_copy_registry_a_b_" in name
