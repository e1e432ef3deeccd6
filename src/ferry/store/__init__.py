"""Persistence: SQLAlchemy 2 tables, Alembic migrations, and one store per noun.

Nothing above this package writes SQL. SQLite (WAL) in the data directory is the embedded default;
PostgreSQL is used when a ``postgresql://`` URL is given; the same code and tests run on both.

- ``database``    opening a database by URL, migrating it, SQLite's pragmas
- ``schema``      the tables
- ``secrets``     registry secrets sealed with Fernet before they reach a table
- ``registries``, ``policies``, ``executions``, ``tasks``, ``accounts``   the stores
"""

from __future__ import annotations

from dataclasses import dataclass

from ferry.store.accounts import AccountStore
from ferry.store.database import Database, open_database
from ferry.store.executions import DEFAULT_RETENTION, ExecutionStore
from ferry.store.policies import PolicyStore
from ferry.store.registries import RegistryStore
from ferry.store.secrets import SecretBox
from ferry.store.tasks import TaskStore


@dataclass(frozen=True)
class Store:
    database: Database
    registries: RegistryStore
    policies: PolicyStore
    executions: ExecutionStore
    tasks: TaskStore
    accounts: AccountStore

    @classmethod
    async def open(cls, url: str, secrets: SecretBox, *, retention: int = DEFAULT_RETENTION) -> Store:
        database = await open_database(url)
        return cls(
            database=database,
            registries=RegistryStore(database, secrets),
            policies=PolicyStore(database),
            executions=ExecutionStore(database, retention=retention),
            tasks=TaskStore(database, retention=retention),
            accounts=AccountStore(database),
        )

    async def close(self) -> None:
        await self.database.close()
