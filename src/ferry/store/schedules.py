"""The fires of scheduled policies. A fire is claimed by inserting its row: the unique (policy,
fire time) pair makes exactly one of several ferry processes win the insert, so each fire starts
one execution however many schedulers tick at the same instant (a constraint, not a check)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from ferry.store.database import Database
from ferry.store.schema import ScheduleFireRow

KEEP_FIRES_FOR = timedelta(days=7)
"""How long fire rows are kept behind a policy's newest fire. Only the newest is needed to know
what is due; older rows are kept long enough that a process with a lagging clock cannot claim a
fire that was already run and pruned."""


class ScheduleStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def claim_fire(self, policy_id: int, fire_time: datetime, *, now: datetime) -> bool:
        """Claim the policy's fire at ``fire_time``; False when another process claimed it first
        (or the policy is gone). Rows older than ``KEEP_FIRES_FOR`` before it are dropped."""
        async with self._db.session() as session:
            session.add(ScheduleFireRow(policy_id=policy_id, fire_time=fire_time, created=now))
            try:
                await session.flush()
            except SqlIntegrityError:
                await session.rollback()
                return False
            await session.execute(
                delete(ScheduleFireRow).where(
                    ScheduleFireRow.policy_id == policy_id,
                    ScheduleFireRow.fire_time < fire_time - KEEP_FIRES_FOR,
                )
            )
            await session.commit()
            return True

    async def record_execution(self, policy_id: int, fire_time: datetime, execution_id: int) -> None:
        """Note which execution a claimed fire started."""
        async with self._db.session() as session:
            await session.execute(
                update(ScheduleFireRow)
                .where(ScheduleFireRow.policy_id == policy_id, ScheduleFireRow.fire_time == fire_time)
                .values(execution_id=execution_id)
            )
            await session.commit()

    async def last_fire(self, policy_id: int) -> datetime | None:
        return (await self.last_fires([policy_id])).get(policy_id)

    async def last_fires(self, policy_ids: Collection[int]) -> dict[int, datetime]:
        """Each policy's newest claimed fire; policies that never fired are absent."""
        if not policy_ids:
            return {}
        async with self._db.session() as session:
            rows = await session.execute(
                select(ScheduleFireRow.policy_id, func.max(ScheduleFireRow.fire_time))
                .where(ScheduleFireRow.policy_id.in_(list(policy_ids)))
                .group_by(ScheduleFireRow.policy_id)
            )
            return {policy_id: fire_time for policy_id, fire_time in rows}

    async def find_execution_id(self, policy_id: int, fire_time: datetime) -> int | None:
        """The execution the fire started, if it was claimed and started (and the execution kept)."""
        async with self._db.session() as session:
            found: int | None = await session.scalar(
                select(ScheduleFireRow.execution_id).where(
                    ScheduleFireRow.policy_id == policy_id, ScheduleFireRow.fire_time == fire_time
                )
            )
            return found
