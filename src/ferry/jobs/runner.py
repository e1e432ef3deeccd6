"""Running one task: copy its unsettled artifacts through the execution's engine (or, for a
deletion task, delete them at the destination), log what happened, and end the attempt as
Success, Error, Stopped, or queued again for a retry."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from ferry.errors import FerryError
from ferry.jobs.context import Clock, ExecutionContext, TaskProgress
from ferry.jobs.deleting import delete_items
from ferry.jobs.recording import MetricsRecorder, NoMetrics
from ferry.jobs.retry import TaskRetryPolicy, can_cure
from ferry.replication.domain.execution import Task
from ferry.replication.domain.status import ItemCounts, JobStatus, Operation, task_result, task_status
from ferry.replication.engine.copier import CopyItem, CopyResult
from ferry.replication.engine.progress import ImageOutcome
from ferry.store import Store


class EndReason(StrEnum):
    """Why a running task was cancelled."""

    STOP = "stop"
    LOST = "lost"
    SHUTDOWN = "shutdown"


EndedBy = Callable[[], EndReason | None]


class TaskRunner:
    def __init__(
        self,
        store: Store,
        owner: str,
        retry: TaskRetryPolicy,
        clock: Clock,
        *,
        metrics: MetricsRecorder | None = None,
    ) -> None:
        self._tasks = store.tasks
        self._owner = owner
        self._retry = retry
        self._clock = clock
        self._metrics = metrics or NoMetrics()
        self._progress: dict[int, TaskProgress] = {}

    async def run(self, task: Task, context: ExecutionContext, *, ended: EndedBy) -> None:
        progress = TaskProgress(task, self._clock)
        self._progress[task.id] = progress
        try:
            items = context.items_for(progress)
            retry = self._retry.for_trigger(context.trigger)
            if task.attempts > 1:
                progress.log(f"attempt {task.attempts} of {retry.attempts}")
            progress.log(
                f"{task.operation} {task.source_repository} → {context.destination_host}/"
                f"{task.destination_repository}: {len(items)} item(s) to do"
                + (f", {len(task.results) - len(items)} settled earlier" if task.results else "")
            )
            try:
                if task.operation is Operation.COPY:
                    results = await self._prepare(context, progress, items)
                    if not results:
                        results = await context.engine.copy(items)
                else:
                    results = await delete_items(context, progress, items)
            except asyncio.CancelledError:
                await self._cancelled(progress, ended())
                return
            await self._conclude(progress, results, retry)
        finally:
            context.forget(progress)
            self._progress.pop(task.id, None)

    async def _prepare(
        self, context: ExecutionContext, progress: TaskProgress, items: list[CopyItem]
    ) -> list[CopyResult]:
        """Ready the destination before the first push; when it cannot be, every item fails with
        the reason (``namespace not found: …``) and nothing is pushed."""
        if not items:
            return []
        try:
            note = await context.prepare(progress.task.destination_repository)
        except FerryError as exc:
            progress.log(f"the destination is not ready: {exc}", level="ERROR")
            return [CopyResult(item, ImageOutcome.FAILED, message=str(exc), error=exc) for item in items]
        if note:
            progress.log(note)
        return []

    async def fail_to_start(self, task: Task, error: FerryError) -> None:
        progress = TaskProgress(task, self._clock)
        progress.log(f"cannot start: {error}", level="ERROR")
        await self._finish(progress, JobStatus.ERROR, str(error))

    async def save_progress(self, task_id: int) -> None:
        progress = self._progress.get(task_id)
        if progress is None:
            return
        # the lock keeps the task's end from overtaking this save: lines drained here and then
        # refused because the task ended meanwhile would be lost from its log
        async with progress.saving:
            await self._tasks.record_progress(
                task_id,
                self._owner,
                results=dict(progress.results),
                bytes_copied=progress.bytes_copied,
                log=progress.drain_log(),
            )

    async def _conclude(
        self, progress: TaskProgress, results: list[CopyResult], retry: TaskRetryPolicy
    ) -> None:
        task = progress.task
        for result in results:
            reference = progress.references.get(str(result.item.destination))
            if reference is not None:
                progress.results[reference] = result.outcome
        if task.operation is not Operation.COPY:  # copies are counted from the engine's events
            for result in results:
                self._metrics.image_done(result.outcome)
        counts = ItemCounts.of(progress.results.values())
        failed = [result for result in results if result.outcome is ImageOutcome.FAILED]
        if task.operation is Operation.COPY:
            progress.log(counts.summary() + f"; {progress.bytes_copied} bytes uploaded")
        else:
            progress.log(counts.summary(deletion=True))
        if not failed:
            await self._finish(progress, task_result(counts), "")
            return
        first = failed[0].message
        curable = any(can_cure(result.error) for result in failed)
        if curable and retry.allows_another(task.attempts):
            delay = retry.delay(task.attempts)
            text = f"attempt {task.attempts} failed for {len(failed)} item(s): {first}"
            progress.log(f"{text}; retrying in {delay:.0f} s", level="WARNING")
            now = self._clock()
            async with progress.saving:
                await self._retry_later(progress, delay, text, now)
            return
        why = "no attempts left" if curable else "a retry cannot fix this"
        progress.log(f"{len(failed)} item(s) failed ({why}): {first}", level="ERROR")
        await self._finish(progress, JobStatus.ERROR, first)

    async def _cancelled(self, progress: TaskProgress, reason: EndReason | None) -> None:
        if reason == EndReason.LOST:
            return  # another process owns the task now; it must not be touched
        if reason == EndReason.SHUTDOWN:
            progress.log("this ferry process is shutting down; the task will run again", level="WARNING")
            async with progress.saving:
                await self._tasks.release(
                    progress.task.id, self._owner, now=self._clock(), log=progress.drain_log()
                )
            return
        progress.log("stopped on request; unfinished uploads were cancelled", level="WARNING")
        await self._finish(progress, JobStatus.STOPPED, "stopped on request")

    async def _retry_later(self, progress: TaskProgress, delay: float, text: str, now: datetime) -> None:
        await self._tasks.retry_later(
            progress.task.id,
            self._owner,
            not_before=now + timedelta(seconds=delay),
            now=now,
            results=dict(progress.results),
            bytes_copied=progress.bytes_copied,
            status_text=text,
            log=progress.drain_log(),
        )

    async def _finish(self, progress: TaskProgress, status: JobStatus, text: str) -> None:
        now = self._clock()
        async with progress.saving:
            finished = await self._tasks.finish(
                progress.task.id,
                self._owner,
                status,
                now=now,
                results=dict(progress.results),
                bytes_copied=progress.bytes_copied,
                status_text=text,
                log=progress.drain_log(),
            )
        if finished:
            started = progress.task.start_time or now
            self._metrics.task_ended(task_status(status), max(0.0, (now - started).total_seconds()))
