"""Opening the database: SQLite in the data directory by default, PostgreSQL by URL.

URLs are written the usual way (``sqlite:///path/ferry.db``, ``postgresql://user:pw@host/db``);
ferry picks the drivers (aiosqlite, psycopg 3) itself. ``open_database`` brings the schema to the
newest Alembic revision before anything else touches it.

SQLite runs in WAL mode (readers never wait for the writer) with foreign keys on, a 30 s busy
timeout, and ``BEGIN IMMEDIATE`` transactions: a transaction takes the write lock when it starts,
so two processes never deadlock upgrading a read lock, and the busy timeout does the waiting.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from ferry.errors import InvalidInput
from ferry.store.migrate import upgrade_to_head

DATABASE_FILE = "ferry.db"
_BUSY_TIMEOUT_MS = 30_000


class Database:
    """An open database: the async engine and a session factory."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> AsyncSession:
        return self.sessions()

    async def close(self) -> None:
        await self.engine.dispose()


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / DATABASE_FILE}"


def parse_database_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidInput(
            "the database URL cannot be parsed",
            hint="write sqlite:////absolute/path/ferry.db or postgresql://user:password@host:5432/database",
        ) from exc
    backend = parsed.get_backend_name()
    if backend not in {"sqlite", "postgresql"}:
        raise InvalidInput(
            f"ferry stores its data in SQLite or PostgreSQL, not {backend}",
            hint="use a sqlite:/// or postgresql:// URL",
        )
    if backend == "sqlite" and parsed.database in {None, "", ":memory:"}:
        raise InvalidInput(
            "an in-memory SQLite database would lose everything at exit",
            hint="give a file: sqlite:////var/lib/ferry/ferry.db",
        )
    return parsed


def _with_driver(url: URL, *, asynchronous: bool) -> URL:
    if url.get_backend_name() == "sqlite":
        return url.set(drivername="sqlite+aiosqlite" if asynchronous else "sqlite")
    return url.set(drivername="postgresql+psycopg")


async def open_database(url: str, *, migrate: bool = True) -> Database:
    """Open (and by default migrate) the database at ``url``."""
    parsed = parse_database_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    if migrate:
        await asyncio.to_thread(upgrade_to_head, _with_driver(parsed, asynchronous=False))
    engine = create_async_engine(_with_driver(parsed, asynchronous=True), pool_pre_ping=True)
    if parsed.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    return Database(engine)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, record: object) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
