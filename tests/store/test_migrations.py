from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from ferry.store import Store
from ferry.store.schema import Base


async def test_the_migrations_create_exactly_the_tables_the_code_uses(store: Store) -> None:
    def differences(connection: Connection) -> list[object]:
        # procrastinate's tables (PostgreSQL's task queue) are the library's, not in ferry's models
        context = MigrationContext.configure(
            connection,
            opts={
                "include_name": lambda name, kind, _: kind != "table" or not name.startswith("procrastinate")
            },
        )
        return list(compare_metadata(context, Base.metadata))

    async with store.database.engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_opening_twice_is_harmless(store: Store, database_url: str) -> None:
    again = await Store.open(database_url, store.registries._secrets)
    await again.close()
