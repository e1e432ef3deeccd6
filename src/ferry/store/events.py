"""Received artifact events: recorded once each (a redelivery is recognised by its key), kept
pending until they are handled, and handled in the same transaction that starts their executions,
so an event is acted on exactly once even across a crash or several ferry processes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ferry.oci.digest import Digest
from ferry.replication.domain.events import ArtifactEvent, EventAction, EventSender
from ferry.replication.domain.execution import Execution
from ferry.replication.domain.scope import EventStart
from ferry.replication.domain.status import ExecutionCounts, TriggerType
from ferry.store.database import Database
from ferry.store.executions import new_execution_row, to_execution
from ferry.store.schema import EventRow


@dataclass(frozen=True)
class ReceivedEvent:
    id: int
    event: ArtifactEvent
    received_time: datetime


class EventStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def record(self, events: Sequence[ArtifactEvent], *, now: datetime) -> list[ArtifactEvent]:
        """Save the events not seen before, and return them; a redelivered event is not new."""
        insert = postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert
        new: list[ArtifactEvent] = []
        async with self._db.session() as session:
            for event in events:
                inserted = await session.execute(
                    insert(EventRow)
                    .values(
                        key=event.key,
                        sender=event.sender.value,
                        action=event.action.value,
                        repository=event.repository,
                        tag=event.tag,
                        digest=None if event.digest is None else str(event.digest),
                        registry_id=event.registry_id,
                        source_host=event.source_host,
                        received_time=now,
                        outcome="",
                    )
                    .on_conflict_do_nothing(index_elements=["key"])
                    .returning(EventRow.id)
                )
                if inserted.first() is not None:
                    new.append(event)
            await session.commit()
        return new

    async def pending(self, *, limit: int = 1000) -> list[ReceivedEvent]:
        """Events not handled yet, oldest first."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(EventRow).where(EventRow.handled_time.is_(None)).order_by(EventRow.id).limit(limit)
            )
            return [ReceivedEvent(row.id, _to_event(row), row.received_time) for row in rows]

    async def handle(
        self,
        event_ids: Sequence[int],
        starts: Sequence[EventStart],
        outcomes: Sequence[str],
        *,
        now: datetime,
    ) -> list[Execution] | None:
        """Mark the events handled with their outcomes and start the executions, atomically. None
        (and nothing changed) when another process handled any of the events first."""
        async with self._db.session() as session:
            claimed = await session.scalars(
                update(EventRow)
                .where(EventRow.id.in_(list(event_ids)), EventRow.handled_time.is_(None))
                .values(handled_time=now)
                .returning(EventRow.id)
            )
            if set(claimed) != set(event_ids):
                await session.rollback()
                return None
            for event_id, outcome in zip(event_ids, outcomes, strict=True):
                await session.execute(update(EventRow).where(EventRow.id == event_id).values(outcome=outcome))
            rows = [
                new_execution_row(start.policy, TriggerType.EVENT_BASED, now=now, scope=start.scope)
                for start in starts
            ]
            session.add_all(rows)
            await session.commit()
            return [to_execution(row, ExecutionCounts()) for row in rows]

    async def find(self, key: str) -> tuple[ArtifactEvent, str] | None:
        """A recorded event and its outcome (empty while pending)."""
        async with self._db.session() as session:
            row = await session.scalar(select(EventRow).where(EventRow.key == key))
            return None if row is None else (_to_event(row), row.outcome)

    async def purge(self, *, handled_before: datetime) -> int:
        """Forget events handled before the given time (redeliveries come within minutes)."""
        async with self._db.session() as session:
            result = await session.execute(
                delete(EventRow).where(EventRow.handled_time < handled_before).returning(EventRow.id)
            )
            count = len(result.all())
            await session.commit()
            return count


def _to_event(row: EventRow) -> ArtifactEvent:
    return ArtifactEvent(
        key=row.key,
        sender=EventSender(row.sender),
        action=EventAction(row.action),
        repository=row.repository,
        tag=row.tag,
        digest=None if row.digest is None else Digest.parse(row.digest),
        registry_id=row.registry_id,
        source_host=row.source_host,
    )
