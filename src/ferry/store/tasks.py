"""Tasks in the database: atomic claims, leases and heartbeats, progress, retries, the reaper
that re-queues a dead worker's tasks, and the durable per-task log.

Every state change of a claimed task names its ``owner``: a worker whose lease was taken away
(the reaper thought it dead) can no longer change the task, and learns so from the heartbeat.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from ferry.errors import RecordNotFound
from ferry.oci.digest import Digest
from ferry.replication.domain.execution import Task
from ferry.replication.domain.plan import PlannedArtifact
from ferry.replication.domain.status import JobStatus, Operation, TaskStatus, task_status
from ferry.replication.engine.progress import ImageOutcome
from ferry.store.database import Database
from ferry.store.ended import ExecutionEnds
from ferry.store.executions import DEFAULT_RETENTION, settle_execution
from ferry.store.schema import ExecutionRow, PolicyRow, TaskLogRow, TaskRow

LogEntry = tuple[datetime, str]


@dataclass(frozen=True)
class Heartbeat:
    """What a worker learns when it renews its leases."""

    lost: frozenset[int]
    """Tasks no longer this worker's: stop working on them, change nothing."""
    stop: frozenset[int]
    """Tasks whose execution was asked to stop: cancel them."""


@dataclass(frozen=True)
class RegistryBusy:
    """A claim refused because the destination registry already has its limit of running tasks."""

    registry_id: int
    running: int


_REGISTRY_LOCKS = 0x66727279  # "frry": the advisory-lock space of per-registry claims


@dataclass(frozen=True)
class TaskQuery:
    execution_id: int
    statuses: frozenset[JobStatus] | None = None
    resource_type: str | None = None
    offset: int = 0
    limit: int = 100


class TaskStore:
    def __init__(
        self, database: Database, *, retention: int = DEFAULT_RETENTION, ends: ExecutionEnds | None = None
    ) -> None:
        self._db = database
        self._retention = retention
        self._ends = ends or ExecutionEnds()

    async def claim(
        self, owner: str, *, lease_until: datetime, now: datetime, limit: int, only: int | None = None
    ) -> list[Task]:
        """Up to ``limit`` pending tasks that are due (or just task ``only``), claimed for ``owner``
        in one UPDATE ... RETURNING (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises
        writers)."""
        due = [TaskRow.status == JobStatus.PENDING.value, TaskRow.not_before <= now]
        if only is not None:
            due.append(TaskRow.id == only)
        candidates = (
            select(TaskRow.id)
            .where(*due)
            .order_by(TaskRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("candidates")
            .prefix_with("MATERIALIZED")
        )
        async with self._db.session() as session:
            rows = await session.scalars(
                update(TaskRow)
                .where(TaskRow.id.in_(select(candidates.c.id)), TaskRow.status == JobStatus.PENDING.value)
                .values(
                    status=JobStatus.RUNNING.value,
                    owner=owner,
                    lease_until=lease_until,
                    attempts=TaskRow.attempts + 1,
                    start_time=func.coalesce(TaskRow.start_time, now),
                )
                .returning(TaskRow)
            )
            claimed = [to_task(row) for row in rows]
            await session.commit()
            return sorted(claimed, key=lambda task: task.id)

    async def claim_within_limit(
        self, task_id: int, owner: str, *, lease_until: datetime, now: datetime, registry_limit: int
    ) -> Task | RegistryBusy | None:
        """Claim task ``task_id`` unless ``registry_limit`` tasks already run against its destination
        registry, counted across every process sharing the database. Claims for one registry are
        serialised by a transaction-scoped advisory lock on PostgreSQL (SQLite serialises writers)."""
        async with self._db.session() as session:
            destination = await session.scalar(
                select(func.coalesce(PolicyRow.dest_registry_id, 0))
                .join(ExecutionRow, ExecutionRow.policy_id == PolicyRow.id)
                .join(TaskRow, TaskRow.execution_id == ExecutionRow.id)
                .where(TaskRow.id == task_id)
            )
            if destination is None:
                return None
            if self._db.dialect == "postgresql":
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(:space, :key)"),
                    {"space": _REGISTRY_LOCKS, "key": int(destination)},
                )
            running = await session.scalar(
                select(func.count(TaskRow.id))
                .join(ExecutionRow, TaskRow.execution_id == ExecutionRow.id)
                .join(PolicyRow, ExecutionRow.policy_id == PolicyRow.id)
                .where(
                    TaskRow.status == JobStatus.RUNNING.value,
                    func.coalesce(PolicyRow.dest_registry_id, 0) == destination,
                )
            )
            if (running or 0) >= registry_limit:
                await session.rollback()
                return RegistryBusy(int(destination), int(running or 0))
            row = await session.scalar(
                update(TaskRow)
                # no not_before check: the queue ran the job at its scheduled time, by the
                # database's clock, which another machine's clock may not agree with
                .where(TaskRow.id == task_id, TaskRow.status == JobStatus.PENDING.value)
                .values(
                    status=JobStatus.RUNNING.value,
                    owner=owner,
                    lease_until=lease_until,
                    attempts=TaskRow.attempts + 1,
                    start_time=func.coalesce(TaskRow.start_time, now),
                )
                .returning(TaskRow)
            )
            claimed = to_task(row) if row is not None else None
            await session.commit()
            return claimed

    async def heartbeat(
        self, owner: str, task_ids: Iterable[int], planning_ids: Iterable[int], *, lease_until: datetime
    ) -> Heartbeat:
        """Renew the leases of ``owner``'s running tasks and plannings."""
        task_ids, planning_ids = list(task_ids), list(planning_ids)
        async with self._db.session() as session:
            kept: set[int] = set()
            stop: set[int] = set()
            if task_ids:
                renewed = await session.execute(
                    update(TaskRow)
                    .where(
                        TaskRow.id.in_(task_ids),
                        TaskRow.owner == owner,
                        TaskRow.status == JobStatus.RUNNING.value,
                    )
                    .values(lease_until=lease_until)
                    .returning(TaskRow.id, TaskRow.execution_id)
                )
                by_execution: dict[int, list[int]] = {}
                for task_id, execution_id in renewed:
                    kept.add(task_id)
                    by_execution.setdefault(execution_id, []).append(task_id)
                if by_execution:
                    stopping = await session.scalars(
                        select(ExecutionRow.id).where(
                            ExecutionRow.id.in_(list(by_execution)), ExecutionRow.stop_requested
                        )
                    )
                    for execution_id in stopping:
                        stop.update(by_execution[execution_id])
            if planning_ids:
                await session.execute(
                    update(ExecutionRow)
                    .where(ExecutionRow.id.in_(planning_ids), ExecutionRow.owner == owner)
                    .values(lease_until=lease_until)
                )
            await session.commit()
            return Heartbeat(lost=frozenset(set(task_ids) - kept), stop=frozenset(stop))

    async def record_progress(
        self,
        task_id: int,
        owner: str,
        *,
        results: dict[str, ImageOutcome],
        bytes_copied: int,
        log: Sequence[LogEntry],
    ) -> bool:
        """Save what the running task has settled so far and its new log lines; False if not ours."""
        async with self._db.session() as session:
            changed = await session.execute(
                update(TaskRow)
                .where(
                    TaskRow.id == task_id, TaskRow.owner == owner, TaskRow.status == JobStatus.RUNNING.value
                )
                .values(results=_results_json(results), bytes_copied=bytes_copied)
                .returning(TaskRow.id)
            )
            if changed.first() is None:
                await session.rollback()
                return False
            _add_log(session, task_id, log)
            await session.commit()
            return True

    async def finish(
        self,
        task_id: int,
        owner: str,
        status: JobStatus,
        *,
        now: datetime,
        results: dict[str, ImageOutcome],
        bytes_copied: int,
        status_text: str = "",
        log: Sequence[LogEntry] = (),
    ) -> bool:
        """End a task (Success, Error or Stopped) and settle its execution if it was the last."""
        return await self._end_attempt(
            task_id,
            owner,
            values={
                "status": status.value,
                "status_text": status_text,
                "end_time": now,
                "results": _results_json(results),
                "bytes_copied": bytes_copied,
            },
            now=now,
            log=log,
        )

    async def retry_later(
        self,
        task_id: int,
        owner: str,
        *,
        not_before: datetime,
        now: datetime,
        results: dict[str, ImageOutcome],
        bytes_copied: int,
        status_text: str,
        log: Sequence[LogEntry] = (),
    ) -> bool:
        """Put a failed attempt back in the queue, due at ``not_before``."""
        return await self._end_attempt(
            task_id,
            owner,
            values={
                "status": JobStatus.PENDING.value,
                "status_text": status_text,
                "not_before": not_before,
                "results": _results_json(results),
                "bytes_copied": bytes_copied,
            },
            now=now,
            log=log,
        )

    async def _end_attempt(
        self, task_id: int, owner: str, *, values: dict[str, Any], now: datetime, log: Sequence[LogEntry]
    ) -> bool:
        async with self._db.session() as session:
            # Lock the execution first: two tasks ending at once must not each see the other still
            # running (READ COMMITTED on PostgreSQL), or nobody would settle the execution.
            execution_id = await session.scalar(select(TaskRow.execution_id).where(TaskRow.id == task_id))
            if execution_id is None:
                return False
            execution = await session.get(ExecutionRow, execution_id, with_for_update=True)
            changed = await session.execute(
                update(TaskRow)
                .where(
                    TaskRow.id == task_id, TaskRow.owner == owner, TaskRow.status == JobStatus.RUNNING.value
                )
                .values(**values, owner=None, lease_until=None)
                .returning(TaskRow.execution_id)
            )
            if changed.scalar() is None:
                await session.rollback()
                return False
            _add_log(session, task_id, log)
            ended = execution is not None and await settle_execution(
                session, execution, now=now, retention=self._retention
            )
            await session.commit()
            if ended and execution is not None:
                self._ends.announce([execution])
            return True

    async def requeue_orphans(self) -> int:
        """Queue again the waiting work that has no job in the task queue (PostgreSQL): a job lost
        with a worker that died after taking it and before claiming its task. Touching the rows
        fires migration 0007's triggers, which defer the jobs. The number of rows queued again."""
        if self._db.dialect != "postgresql":
            return 0
        async with self._db.session() as session:
            tasks = await session.execute(
                text(
                    "UPDATE tasks SET not_before = not_before WHERE status = 'Pending' AND NOT EXISTS "
                    "(SELECT 1 FROM procrastinate_jobs j WHERE j.queueing_lock = 'ferry-task-' || tasks.id "
                    "AND j.status IN ('todo', 'doing'))"
                )
            )
            plannings = await session.execute(
                text(
                    "UPDATE executions SET owner = NULL WHERE phase = 'planning' AND owner IS NULL "
                    "AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.queueing_lock = "
                    "'ferry-plan-' || executions.id AND j.status IN ('todo', 'doing'))"
                )
            )
            await session.commit()
            return int(tasks.rowcount or 0) + int(plannings.rowcount or 0)  # type: ignore[attr-defined]

    async def running_owners(self) -> set[str]:
        async with self._db.session() as session:
            owners = await session.scalars(
                select(TaskRow.owner).where(TaskRow.status == JobStatus.RUNNING.value).distinct()
            )
            planners = await session.scalars(
                select(ExecutionRow.owner).where(ExecutionRow.owner.is_not(None)).distinct()
            )
            return {owner for owner in [*owners, *planners] if owner}

    async def reap(self, *, now: datetime, dead_owners: Iterable[str] = ()) -> int:
        """Re-queue the tasks (and plannings) of workers whose lease expired or that are known dead;
        a task whose execution is stopping ends Stopped instead. Returns how many were reaped."""
        dead = list(dead_owners)
        async with self._db.session() as session:
            lapsed = TaskRow.lease_until < now
            orphaned = (lapsed | TaskRow.owner.in_(dead)) if dead else lapsed
            rows = list(
                await session.scalars(
                    select(TaskRow)
                    .where(TaskRow.status == JobStatus.RUNNING.value, orphaned)
                    .with_for_update(skip_locked=True)
                )
            )
            touched: set[int] = set()
            for row in rows:
                execution = await session.get(ExecutionRow, row.execution_id)
                stopping = execution is not None and execution.stop_requested
                _add_log(
                    session,
                    row.id,
                    [
                        (
                            now,
                            f"worker {row.owner} stopped renewing its lease; task "
                            + ("stopped" if stopping else "queued again"),
                        )
                    ],
                )
                row.owner = None
                row.lease_until = None
                if stopping:
                    row.status = JobStatus.STOPPED.value
                    row.end_time = now
                else:
                    row.status = JobStatus.PENDING.value
                    row.not_before = now
                touched.add(row.execution_id)
            planning_lapsed = ExecutionRow.lease_until < now
            planning_orphaned = (planning_lapsed | ExecutionRow.owner.in_(dead)) if dead else planning_lapsed
            released = await session.execute(
                update(ExecutionRow)
                .where(ExecutionRow.phase == "planning", ExecutionRow.owner.is_not(None), planning_orphaned)
                .values(owner=None, lease_until=None)
                .returning(ExecutionRow.id)
            )
            count = len(rows) + len(released.all())
            await session.flush()
            stuck = await session.scalars(
                select(ExecutionRow.id).where(
                    ExecutionRow.phase == "running",
                    ~select(TaskRow.id)
                    .where(
                        TaskRow.execution_id == ExecutionRow.id,
                        TaskRow.status.in_([JobStatus.PENDING.value, JobStatus.RUNNING.value]),
                    )
                    .exists(),
                )
            )
            touched.update(stuck)
            ended = []
            for execution_id in sorted(touched):
                execution = await session.get(ExecutionRow, execution_id, with_for_update=True)
                if execution is not None and await settle_execution(
                    session, execution, now=now, retention=self._retention
                ):
                    ended.append(execution)
            await session.commit()
            self._ends.announce(ended)
            return count

    async def release(self, task_id: int, owner: str, *, now: datetime, log: Sequence[LogEntry] = ()) -> bool:
        """Give a task back to the queue without counting the attempt (this worker is shutting down)."""
        return await self._end_attempt(
            task_id,
            owner,
            values={
                "status": JobStatus.PENDING.value,
                "not_before": now,
                "attempts": TaskRow.attempts - 1,
            },
            now=now,
            log=log,
        )

    async def count_by_status(self) -> dict[TaskStatus, int]:
        """How many tasks (of the executions retention keeps) have each status; every status is present."""
        async with self._db.session() as session:
            rows = await session.execute(select(TaskRow.status, func.count()).group_by(TaskRow.status))
            counts = dict.fromkeys(TaskStatus, 0)
            for status, count in rows:
                counts[task_status(JobStatus(status))] += count
            return counts

    async def get(self, task_id: int, *, execution_id: int | None = None) -> Task:
        async with self._db.session() as session:
            row = await session.get(TaskRow, task_id)
            if row is None or (execution_id is not None and row.execution_id != execution_id):
                raise RecordNotFound(
                    f"task {task_id} not found" + (f" in execution {execution_id}" if execution_id else "")
                )
            return to_task(row)

    async def list_tasks(self, query: TaskQuery) -> tuple[list[Task], int]:
        conditions = [TaskRow.execution_id == query.execution_id]
        if query.statuses is not None:
            conditions.append(TaskRow.status.in_([status.value for status in query.statuses]))
        if query.resource_type is not None:
            conditions.append(TaskRow.resource_type == query.resource_type)
        async with self._db.session() as session:
            total = await session.scalar(select(func.count()).select_from(TaskRow).where(*conditions))
            rows = await session.scalars(
                select(TaskRow)
                .where(*conditions)
                .order_by(TaskRow.id)
                .offset(query.offset)
                .limit(query.limit)
            )
            return [to_task(row) for row in rows], int(total or 0)

    async def read_log(self, task_id: int, *, after: int = 0) -> list[tuple[int, datetime, str]]:
        """The task's log lines with their sequence ids, from ``after`` on (to follow a running task)."""
        async with self._db.session() as session:
            if await session.get(TaskRow, task_id) is None:
                raise RecordNotFound(f"task {task_id} not found")
            rows = await session.execute(
                select(TaskLogRow.id, TaskLogRow.logged_at, TaskLogRow.line)
                .where(TaskLogRow.task_id == task_id, TaskLogRow.id > after)
                .order_by(TaskLogRow.id)
            )
            return [(row_id, logged_at, line) for row_id, logged_at, line in rows]


def format_log(lines: Iterable[tuple[int, datetime, str]]) -> str:
    """Harbor-style plain text: one ``2026-11-28T04:19:19Z [INFO] ...`` line per entry."""
    return "".join(f"{logged_at.strftime('%Y-%m-%dT%H:%M:%SZ')} {line}\n" for _, logged_at, line in lines)


def _add_log(session: AsyncSession, task_id: int, log: Iterable[LogEntry]) -> None:
    session.add_all(TaskLogRow(task_id=task_id, logged_at=when, line=text) for when, text in log)


def _results_json(results: dict[str, ImageOutcome]) -> dict[str, str]:
    return {reference: outcome.value for reference, outcome in results.items()}


def to_task(row: TaskRow) -> Task:
    return Task(
        id=row.id,
        execution_id=row.execution_id,
        status=JobStatus(row.status),
        status_text=row.status_text,
        operation=Operation(row.operation),
        resource_type=row.resource_type,
        source_repository=row.source_repository,
        destination_repository=row.destination_repository,
        src_resource=row.src_resource,
        dst_resource=row.dst_resource,
        artifacts=tuple(
            PlannedArtifact(
                Digest.parse(item["digest"]) if item.get("digest") else None, tuple(item.get("tags", ()))
            )
            for item in row.artifacts
        ),
        results={reference: ImageOutcome(outcome) for reference, outcome in (row.results or {}).items()},
        attempts=row.attempts,
        bytes_copied=row.bytes_copied,
        start_time=row.start_time,
        end_time=row.end_time,
    )
