"""Alembic environment: migrations run on the connection ``ferry.store.migrate`` passes in."""

from __future__ import annotations

from alembic import context

from ferry.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # offline SQL generation: alembic -x url=... upgrade --sql
    context.configure(
        url=context.get_x_argument(as_dictionary=True).get("url", "sqlite://"),
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
