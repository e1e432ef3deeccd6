"""Persistence: SQLAlchemy 2 tables, Alembic migrations, and one store per noun.

Nothing above this package writes SQL. SQLite (WAL) in the data directory is the embedded default;
PostgreSQL is used when a ``postgresql://`` URL is given; the same code and tests run on both.

- ``database``    opening a database by URL, migrating it, SQLite's pragmas
- ``schema``      the tables
- ``secrets``     registry secrets sealed with Fernet before they reach a table
- ``registries``, ``policies``, ``executions``, ``tasks``, ``accounts``   the stores
- ``events``      received artifact events (registry notifications, Harbor webhooks), once each
- ``schedules``   the fires of scheduled policies, claimed once each
- ``ended``       executions that ended, announced to listeners after the commit (the metrics)
- ``webhooks``, ``webhook_deliveries``   outgoing webhook policies; the outbox and delivery log
- ``watches``     the watcher's rounds over sources that send no events, and the tags they saw
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ferry.store.accounts import AccountStore
from ferry.store.database import Database, open_database
from ferry.store.ended import ExecutionEnds
from ferry.store.events import EventStore
from ferry.store.executions import DEFAULT_RETENTION, ExecutionStore
from ferry.store.policies import PolicyStore
from ferry.store.registries import RegistryStore
from ferry.store.schedules import ScheduleStore
from ferry.store.secrets import SecretBox
from ferry.store.tasks import TaskStore
from ferry.store.watches import WatchStore
from ferry.store.webhook_deliveries import DeliveryStore
from ferry.store.webhooks import WebhookStore


@dataclass(frozen=True)
class Store:
    database: Database
    registries: RegistryStore
    policies: PolicyStore
    executions: ExecutionStore
    tasks: TaskStore
    accounts: AccountStore
    events: EventStore
    schedules: ScheduleStore
    webhooks: WebhookStore
    deliveries: DeliveryStore
    watches: WatchStore
    execution_ends: ExecutionEnds = field(default_factory=ExecutionEnds)
    """Subscribe here to hear of every execution this process ends."""

    @classmethod
    async def open(cls, url: str, secrets: SecretBox, *, retention: int = DEFAULT_RETENTION) -> Store:
        database = await open_database(url)
        ends = ExecutionEnds()
        return cls(
            database=database,
            registries=RegistryStore(database, secrets),
            policies=PolicyStore(database),
            executions=ExecutionStore(database, retention=retention, ends=ends),
            tasks=TaskStore(database, retention=retention, ends=ends),
            accounts=AccountStore(database),
            events=EventStore(database),
            schedules=ScheduleStore(database),
            webhooks=WebhookStore(database, secrets),
            deliveries=DeliveryStore(database),
            watches=WatchStore(database),
            execution_ends=ends,
        )

    async def close(self) -> None:
        await self.database.close()
