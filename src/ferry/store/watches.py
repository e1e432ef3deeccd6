"""The watcher's rounds and what they saw (``replication.domain.watch``).

A round is claimed with one conditional UPDATE of the policy's ``watches`` row (due: never
claimed, claimed for an older version of the policy, or claimed more than an interval ago), which
also gives the round a new token. Its results — the new baseline in ``watched_tags`` and the
executions it starts — are saved in one transaction, and only while the token is still the
round's and the policy unchanged: a round overtaken by another process's claim, or by an edit of
the policy, leaves nothing behind, and the next round sees the same changes again.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ferry.oci.digest import Digest
from ferry.replication.domain.execution import Execution
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.scope import ExecutionScope
from ferry.replication.domain.status import ExecutionCounts, TriggerType
from ferry.replication.domain.watch import RoundState, TagKey
from ferry.store.database import Database
from ferry.store.executions import new_execution_row, to_execution
from ferry.store.schema import PolicyRow, WatchedTagRow, WatchRow

_BATCH = 500


@dataclass(frozen=True)
class RoundClaim:
    """A round this process won: its token, and whether it is full (no baseline for this version
    of the policy yet)."""

    token: str
    full: bool


@dataclass(frozen=True)
class BaselineChange:
    """How a round changes the baseline: set these tags' digests, forget those tags; a full round
    replaces the whole baseline with ``upserts``."""

    upserts: Mapping[TagKey, Digest]
    removals: Collection[TagKey] = ()
    replace_all: bool = False


@dataclass(frozen=True)
class WatchStatus:
    """What the watcher last did for a policy."""

    round_time: datetime | None
    last_round_time: datetime | None
    """When the last round that succeeded ended."""
    last_error: str
    """Why the last round failed; empty when it succeeded."""
    baseline_version: datetime | None


class WatchStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def states(self, policy_ids: Collection[int]) -> dict[int, RoundState]:
        if not policy_ids:
            return {}
        async with self._db.session() as session:
            rows = await session.scalars(select(WatchRow).where(WatchRow.policy_id.in_(list(policy_ids))))
            return {row.policy_id: RoundState(row.round_time, row.round_version) for row in rows}

    async def claim_round(self, policy: Policy, *, interval: timedelta, now: datetime) -> RoundClaim | None:
        """Claim the policy's round at ``now``; None when it is not due (another process claimed it)."""
        insert = postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert
        token = secrets.token_hex(16)
        async with self._db.session() as session:
            await session.execute(
                insert(WatchRow)
                .values(policy_id=policy.id, last_error="")
                .on_conflict_do_nothing(index_elements=["policy_id"])
            )
            claimed = await session.execute(
                update(WatchRow)
                .where(
                    WatchRow.policy_id == policy.id,
                    or_(
                        WatchRow.round_time.is_(None),
                        WatchRow.round_version.is_(None),
                        WatchRow.round_version != policy.update_time,
                        WatchRow.round_time <= now - interval,
                    ),
                )
                .values(round_time=now, round_version=policy.update_time, round_token=token)
                .returning(WatchRow.baseline_version)
            )
            row = claimed.first()
            await session.commit()
        if row is None:
            return None
        return RoundClaim(token, full=row.baseline_version != policy.update_time)

    async def baseline(self, policy_id: int) -> dict[TagKey, Digest]:
        async with self._db.session() as session:
            rows = await session.execute(
                select(WatchedTagRow.repository, WatchedTagRow.tag, WatchedTagRow.digest).where(
                    WatchedTagRow.policy_id == policy_id
                )
            )
            return {(repository, tag): Digest.parse(digest) for repository, tag, digest in rows}

    async def finish_round(
        self,
        policy: Policy,
        claim: RoundClaim,
        change: BaselineChange,
        scopes: Sequence[ExecutionScope | None],
        *,
        now: datetime,
    ) -> list[Execution] | None:
        """Save the round's baseline and start its executions (trigger ``event_based``; a None
        scope is a full run), atomically. None, with nothing saved, when the round was overtaken."""
        async with self._db.session() as session:
            current = await session.scalar(
                select(PolicyRow.update_time).where(PolicyRow.id == policy.id, PolicyRow.enabled)
            )
            finished = await session.execute(
                update(WatchRow)
                .where(WatchRow.policy_id == policy.id, WatchRow.round_token == claim.token)
                .values(
                    round_token=None,
                    last_round_time=now,
                    last_error="",
                    **({"baseline_version": policy.update_time} if claim.full else {}),
                )
                .returning(WatchRow.policy_id)
            )
            if finished.first() is None or current != policy.update_time:
                await session.rollback()
                return None
            await _change_baseline(session, policy.id, change, now)
            rows = [
                new_execution_row(policy, TriggerType.EVENT_BASED, now=now, scope=scope) for scope in scopes
            ]
            session.add_all(rows)
            await session.commit()
            return [to_execution(row, ExecutionCounts()) for row in rows]

    async def fail_round(self, policy_id: int, claim: RoundClaim, error: str) -> None:
        """Note why the round failed; the baseline stays, so the next round sees the same changes."""
        async with self._db.session() as session:
            await session.execute(
                update(WatchRow)
                .where(WatchRow.policy_id == policy_id, WatchRow.round_token == claim.token)
                .values(round_token=None, last_error=error)
            )
            await session.commit()

    async def find(self, policy_id: int) -> WatchStatus | None:
        async with self._db.session() as session:
            row = await session.get(WatchRow, policy_id)
            if row is None:
                return None
            return WatchStatus(row.round_time, row.last_round_time, row.last_error, row.baseline_version)


async def _change_baseline(
    session: AsyncSession, policy_id: int, change: BaselineChange, now: datetime
) -> None:
    if change.replace_all:
        await session.execute(delete(WatchedTagRow).where(WatchedTagRow.policy_id == policy_id))
    else:
        stale = [*change.upserts, *change.removals]
        for start in range(0, len(stale), _BATCH):
            await session.execute(
                delete(WatchedTagRow).where(
                    WatchedTagRow.policy_id == policy_id,
                    tuple_(WatchedTagRow.repository, WatchedTagRow.tag).in_(stale[start : start + _BATCH]),
                )
            )
    session.add_all(
        WatchedTagRow(policy_id=policy_id, repository=repository, tag=tag, digest=str(digest), seen_time=now)
        for (repository, tag), digest in change.upserts.items()
    )
