"""Executions in the database: starting one (single_active_replication enforced by a unique
index), planning claims, stopping, re-running failed tasks, settling the status from the tasks,
and retention of the last N executions per policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ferry.errors import PreconditionFailed, RecordNotFound
from ferry.replication.domain.execution import Execution, NewTask, Phase, resource_label
from ferry.replication.domain.plan import PlannedArtifact
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.scope import ExecutionScope
from ferry.replication.domain.status import (
    NO_RESOURCES_TEXT,
    SKIPPED_ACTIVE_TEXT,
    ExecutionCounts,
    ExecutionStatus,
    JobStatus,
    TriggerType,
    derive_execution_status,
    execution_status,
)
from ferry.store.database import Database
from ferry.store.ended import ExecutionEnds
from ferry.store.schema import ExecutionRow, TaskRow

DEFAULT_RETENTION = 50

_FINAL_TEXT = {
    ExecutionStatus.SUCCEED: JobStatus.SUCCESS,
    ExecutionStatus.FAILED: JobStatus.ERROR,
    ExecutionStatus.STOPPED: JobStatus.STOPPED,
}


@dataclass(frozen=True)
class ExecutionQuery:
    policy_id: int | None = None
    statuses: frozenset[JobStatus] | None = None
    trigger: TriggerType | None = None
    offset: int = 0
    limit: int = 100


@dataclass(frozen=True)
class Activity:
    """What executions started in a period did: how many, how many failed, the bytes copied."""

    executions: int = 0
    failed: int = 0
    bytes_copied: int = 0


class ExecutionStore:
    def __init__(
        self, database: Database, *, retention: int = DEFAULT_RETENTION, ends: ExecutionEnds | None = None
    ) -> None:
        self._db = database
        self._retention = retention
        self._ends = ends or ExecutionEnds()

    async def start(
        self,
        policy: Policy,
        trigger: TriggerType,
        *,
        now: datetime,
        dry_run: bool = False,
        scope: ExecutionScope | None = None,
    ) -> Execution:
        """A new execution waiting to be planned. With single_active_replication, a start while
        another execution of the policy is unfinished is recorded as Failed, as Harbor does.
        ``scope`` limits an event-based execution to the event's repository and artifacts."""
        if not policy.enabled:
            raise PreconditionFailed(
                f"replication rule {policy.name!r} is disabled", hint="enable the rule to run it"
            )
        row = new_execution_row(policy, trigger, now=now, dry_run=dry_run, scope=scope)
        async with self._db.session() as session:
            session.add(row)
            try:
                await session.commit()
            except SqlIntegrityError:
                await session.rollback()
            else:
                return to_execution(row, ExecutionCounts())
            skipped = _new_row(policy.id, trigger, Phase.FINISHED, now, exclusive=False, dry_run=dry_run)
            _finish(skipped, JobStatus.ERROR, SKIPPED_ACTIVE_TEXT, now)
            session.add(skipped)
            await session.commit()
            self._ends.announce([skipped])
            return to_execution(skipped, ExecutionCounts())

    async def get(self, execution_id: int) -> Execution:
        async with self._db.session() as session:
            row = await session.get(ExecutionRow, execution_id)
            if row is None:
                raise RecordNotFound(
                    f"execution {execution_id} not found", hint="list the executions to see their ids"
                )
            return await _live(session, row)

    async def list_executions(self, query: ExecutionQuery = ExecutionQuery()) -> tuple[list[Execution], int]:
        """A page of executions, newest first, and the total matching the query."""
        conditions = []
        if query.policy_id is not None:
            conditions.append(ExecutionRow.policy_id == query.policy_id)
        if query.statuses is not None:
            conditions.append(ExecutionRow.status.in_([status.value for status in query.statuses]))
        if query.trigger is not None:
            conditions.append(ExecutionRow.trigger == query.trigger.value)
        async with self._db.session() as session:
            total = await session.scalar(select(func.count()).select_from(ExecutionRow).where(*conditions))
            rows = list(
                await session.scalars(
                    select(ExecutionRow)
                    .where(*conditions)
                    .order_by(ExecutionRow.id.desc())
                    .offset(query.offset)
                    .limit(query.limit)
                )
            )
            executions = [await _live(session, row) for row in rows]
            return executions, int(total or 0)

    async def count_by_status(self) -> dict[ExecutionStatus, int]:
        """How many executions (those retention keeps) have each status; every status is present."""
        async with self._db.session() as session:
            rows = await session.execute(
                select(ExecutionRow.status, func.count()).group_by(ExecutionRow.status)
            )
            counts = dict.fromkeys(ExecutionStatus, 0)
            for status, count in rows:
                counts[execution_status(JobStatus(status))] += count
            return counts

    async def activity_since(self, since: datetime) -> Activity:
        """The executions started at or after ``since`` (those retention keeps), for a dashboard."""
        started = ExecutionRow.start_time >= since
        async with self._db.session() as session:
            statuses = await session.execute(
                select(ExecutionRow.status, func.count()).where(started).group_by(ExecutionRow.status)
            )
            counts = {JobStatus(status): count for status, count in statuses}
            copied = await session.scalar(
                select(func.coalesce(func.sum(TaskRow.bytes_copied), 0))
                .join(ExecutionRow, TaskRow.execution_id == ExecutionRow.id)
                .where(started)
            )
        failed = sum(
            count for status, count in counts.items() if execution_status(status) is ExecutionStatus.FAILED
        )
        return Activity(executions=sum(counts.values()), failed=failed, bytes_copied=int(copied or 0))

    async def unfinished_ids(self) -> list[int]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(ExecutionRow.id)
                .where(ExecutionRow.phase != Phase.FINISHED.value)
                .order_by(ExecutionRow.id)
            )
            return list(rows)

    async def find_unfinished(self, policy_id: int) -> Execution | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(ExecutionRow)
                .where(ExecutionRow.policy_id == policy_id, ExecutionRow.phase != Phase.FINISHED.value)
                .order_by(ExecutionRow.id)
                .limit(1)
            )
            return None if row is None else to_execution(row, await _counts(session, row.id))

    async def request_stop(self, execution_id: int, *, now: datetime) -> Execution:
        """Stop an execution: pending tasks end Stopped at once; running tasks are cancelled by
        the workers that run them, which see ``stop_requested`` on their next heartbeat."""
        async with self._db.session() as session:
            row = await session.get(ExecutionRow, execution_id, with_for_update=True)
            if row is None:
                raise RecordNotFound(f"execution {execution_id} not found")
            ended = False
            if row.phase != Phase.FINISHED.value:
                row.stop_requested = True
                await session.execute(
                    update(TaskRow)
                    .where(TaskRow.execution_id == execution_id, TaskRow.status == JobStatus.PENDING.value)
                    .values(status=JobStatus.STOPPED.value, end_time=now, owner=None, lease_until=None)
                )
                planning_abandoned = row.phase == Phase.PLANNING.value and (
                    row.owner is None or (row.lease_until is not None and row.lease_until < now)
                )
                if planning_abandoned:
                    _finish(row, JobStatus.STOPPED, "", now)
                    ended = True
                else:
                    ended = await settle_execution(session, row, now=now, retention=self._retention)
            await session.commit()
            if ended:
                self._ends.announce([row])
            return to_execution(row, await _counts(session, execution_id))

    async def claim_planning(
        self, owner: str, *, lease_until: datetime, now: datetime, limit: int, only: int | None = None
    ) -> list[Execution]:
        """Executions waiting to be planned (or just ``only``), claimed for ``owner`` in one
        UPDATE ... RETURNING."""
        waiting = [ExecutionRow.phase == Phase.PLANNING.value, ExecutionRow.owner.is_(None)]
        if only is not None:
            waiting.append(ExecutionRow.id == only)
        candidates = (
            select(ExecutionRow.id)
            .where(*waiting)
            .order_by(ExecutionRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("candidates")
            .prefix_with("MATERIALIZED")
        )
        async with self._db.session() as session:
            rows = await session.scalars(
                update(ExecutionRow)
                .where(ExecutionRow.id.in_(select(candidates.c.id)), ExecutionRow.owner.is_(None))
                .values(owner=owner, lease_until=lease_until, attempts=ExecutionRow.attempts + 1)
                .returning(ExecutionRow)
            )
            claimed = [to_execution(row, ExecutionCounts()) for row in rows]
            await session.commit()
            return claimed

    async def finish_planning(
        self, execution_id: int, owner: str, tasks: Sequence[NewTask], *, now: datetime, note: str = ""
    ) -> bool:
        """Create the planned tasks and move the execution to running, atomically. False when
        ``owner`` lost the claim meanwhile (another process planned it). ``note`` explains an
        empty plan in the status text."""
        async with self._db.session() as session:
            row = await session.get(ExecutionRow, execution_id, with_for_update=True)
            if row is None or row.owner != owner or row.phase != Phase.PLANNING.value:
                return False
            stopped = row.stop_requested
            if note and not tasks:
                row.status_text = f"{NO_RESOURCES_TEXT}: {note}"
            for task in tasks:
                session.add(_task_row(execution_id, task, now, stopped=stopped))
            row.phase = Phase.RUNNING.value
            row.owner = None
            row.lease_until = None
            await session.flush()
            ended = await settle_execution(session, row, now=now, retention=self._retention)
            await session.commit()
            if ended:
                self._ends.announce([row])
            return True

    async def fail_planning(self, execution_id: int, owner: str, message: str, *, now: datetime) -> None:
        async with self._db.session() as session:
            row = await session.get(ExecutionRow, execution_id)
            if row is None or row.owner != owner or row.phase != Phase.PLANNING.value:
                return
            _finish(row, JobStatus.STOPPED if row.stop_requested else JobStatus.ERROR, message, now)
            await _apply_retention(session, row.policy_id, self._retention)
            await session.commit()
            self._ends.announce([row])

    async def release_planning(self, execution_id: int, owner: str) -> None:
        """Give a claimed planning back (this process is shutting down)."""
        async with self._db.session() as session:
            await session.execute(
                update(ExecutionRow)
                .where(ExecutionRow.id == execution_id, ExecutionRow.owner == owner)
                .values(owner=None, lease_until=None)
            )
            await session.commit()

    async def retry_failed(self, execution_id: int, *, now: datetime) -> Execution:
        """A new execution of the same policy with copies of the failed and stopped tasks only."""
        async with self._db.session() as session:
            old = await session.get(ExecutionRow, execution_id)
            if old is None:
                raise RecordNotFound(f"execution {execution_id} not found")
            if old.phase != Phase.FINISHED.value:
                raise PreconditionFailed(
                    f"execution {execution_id} is still running", hint="wait for it to end, or stop it"
                )
            again = list(
                await session.scalars(
                    select(TaskRow)
                    .where(
                        TaskRow.execution_id == execution_id,
                        TaskRow.status.in_([JobStatus.ERROR.value, JobStatus.STOPPED.value]),
                    )
                    .order_by(TaskRow.id)
                )
            )
            if not again:
                raise PreconditionFailed(
                    f"execution {execution_id} has no failed or stopped tasks",
                    hint="start a new execution instead",
                )
            row = _new_row(
                old.policy_id,
                TriggerType.MANUAL,
                Phase.RUNNING,
                now,
                exclusive=old.exclusive,
                dry_run=old.dry_run,
            )
            row.status_text = f"re-run of the failed tasks of execution {execution_id}"
            row.retry_of = execution_id
            row.scope = old.scope
            session.add(row)
            try:
                await session.flush()
            except SqlIntegrityError as exc:
                raise PreconditionFailed(
                    "the rule allows one active execution and another one is running",
                    hint="wait for it to end",
                ) from exc
            for task in again:
                session.add(
                    TaskRow(
                        execution_id=row.id,
                        status=JobStatus.PENDING.value,
                        status_text="",
                        operation=task.operation,
                        resource_type=task.resource_type,
                        source_repository=task.source_repository,
                        destination_repository=task.destination_repository,
                        src_resource=task.src_resource,
                        dst_resource=task.dst_resource,
                        artifacts=task.artifacts,
                        results={
                            ref: outcome for ref, outcome in task.results.items() if outcome != "failed"
                        },
                        attempts=0,
                        not_before=now,
                        bytes_copied=0,
                    )
                )
            await session.commit()
            return to_execution(row, await _counts(session, row.id))


def new_execution_row(
    policy: Policy,
    trigger: TriggerType,
    *,
    now: datetime,
    dry_run: bool = False,
    scope: ExecutionScope | None = None,
) -> ExecutionRow:
    """The row of a new execution waiting to be planned (what ``start`` inserts)."""
    row = _new_row(
        policy.id, trigger, Phase.PLANNING, now, exclusive=policy.single_active_replication, dry_run=dry_run
    )
    row.scope = None if scope is None else scope.to_json()
    return row


def _new_row(
    policy_id: int, trigger: TriggerType, phase: Phase, now: datetime, *, exclusive: bool, dry_run: bool
) -> ExecutionRow:
    return ExecutionRow(
        policy_id=policy_id,
        status=JobStatus.RUNNING.value,
        status_text="",
        trigger=trigger.value,
        phase=phase.value,
        exclusive=exclusive,
        stop_requested=False,
        dry_run=dry_run,
        attempts=0,
        bytes_copied=0,
        start_time=now,
    )


def _task_row(execution_id: int, task: NewTask, now: datetime, *, stopped: bool) -> TaskRow:
    count = task.item_count
    return TaskRow(
        execution_id=execution_id,
        status=(JobStatus.STOPPED if stopped else JobStatus.PENDING).value,
        status_text="",
        operation=task.operation.value,
        resource_type=task.resource_type,
        source_repository=task.source_repository,
        destination_repository=task.destination_repository,
        src_resource=resource_label(task.source_repository, count),
        dst_resource=resource_label(task.destination_repository, count),
        artifacts=[artifact_to_json(artifact) for artifact in task.artifacts],
        results={},
        attempts=0,
        not_before=now,
        bytes_copied=0,
        end_time=now if stopped else None,
    )


def artifact_to_json(artifact: PlannedArtifact) -> dict[str, object]:
    digest = None if artifact.digest is None else str(artifact.digest)
    return {"digest": digest, "tags": list(artifact.tags)}


async def _live(session: AsyncSession, row: ExecutionRow) -> Execution:
    """The execution with its counts; while it runs, the bytes its tasks have reported so far."""
    execution = to_execution(row, await _counts(session, row.id))
    if row.phase == Phase.FINISHED.value:
        return execution
    return replace(execution, bytes_copied=await _task_bytes(session, row.id))


async def _task_bytes(session: AsyncSession, execution_id: int) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(TaskRow.bytes_copied), 0)).where(TaskRow.execution_id == execution_id)
    )
    return int(total or 0)


async def _counts(session: AsyncSession, execution_id: int) -> ExecutionCounts:
    statuses = await session.execute(
        select(TaskRow.status, func.count())
        .where(TaskRow.execution_id == execution_id)
        .group_by(TaskRow.status)
    )
    return ExecutionCounts.of(JobStatus(status) for status, count in statuses for _ in range(count))


async def settle_execution(
    session: AsyncSession, row: ExecutionRow, *, now: datetime, retention: int
) -> bool:
    """Finish a running execution whose tasks have all ended, with the status Harbor derives;
    True when this call finished it (to announce after the commit)."""
    if row.phase != Phase.RUNNING.value:
        return False
    statuses = [
        JobStatus(status)
        for status in await session.scalars(select(TaskRow.status).where(TaskRow.execution_id == row.id))
    ]
    outcome = derive_execution_status(statuses)
    if outcome.status is ExecutionStatus.IN_PROGRESS:
        return False
    row.bytes_copied = await _task_bytes(session, row.id)
    text = row.status_text or outcome.status_text
    _finish(row, _FINAL_TEXT[outcome.status], text, now)
    await _apply_retention(session, row.policy_id, retention)
    return True


def _finish(row: ExecutionRow, status: JobStatus, text: str, now: datetime) -> None:
    row.status = status.value
    row.status_text = text
    row.phase = Phase.FINISHED.value
    row.owner = None
    row.lease_until = None
    row.end_time = now


async def _apply_retention(session: AsyncSession, policy_id: int, retention: int) -> None:
    """Keep the newest ``retention`` executions of the policy (Harbor keeps 50)."""
    await session.flush()
    keep = (
        select(ExecutionRow.id)
        .where(ExecutionRow.policy_id == policy_id)
        .order_by(ExecutionRow.id.desc())
        .limit(retention)
    )
    await session.execute(
        delete(ExecutionRow).where(
            ExecutionRow.policy_id == policy_id,
            ExecutionRow.phase == Phase.FINISHED.value,
            ExecutionRow.id.not_in(keep.scalar_subquery()),
        )
    )


def to_execution(row: ExecutionRow, counts: ExecutionCounts) -> Execution:
    return Execution(
        id=row.id,
        policy_id=row.policy_id,
        status=JobStatus(row.status),
        status_text=row.status_text,
        trigger=TriggerType(row.trigger),
        phase=Phase(row.phase),
        start_time=row.start_time,
        end_time=row.end_time,
        counts=counts,
        stop_requested=row.stop_requested,
        dry_run=row.dry_run,
        bytes_copied=row.bytes_copied,
        retry_of=row.retry_of,
        scope=None if row.scope is None else ExecutionScope.from_json(row.scope),
    )
