"""Running ferry's work on several machines: procrastinate on PostgreSQL.

ferry's tables stay the source of truth for status, progress and logs; procrastinate carries the
*work*: which process runs which task. Migration 0007 installs triggers, so a task that becomes
runnable gets its job in the same transaction that made it runnable (created by planning, queued
again for a retry at its ``not_before``, re-queued by the reaper), under a queueing lock
(``ferry-task-<id>``) so it never waits twice; an execution waiting to be planned gets a
``ferry.plan_execution`` job the same way. Every ``ferry serve`` and ``ferry worker`` sharing the
database runs a procrastinate worker whose jobs hand the task to its ``Dispatcher`` (the same
per-task code as the single-machine engine: claims by owner and lease, heartbeats that save
progress and notice stops, retries).

- **Exactly once.** A job claims its task with one conditional UPDATE; a second job for the same
  task (a redelivery) finds it claimed and ends.
- **Per-registry limits across machines.** A claim counts the tasks running against the task's
  destination registry in every process, under a per-registry advisory lock; at the limit the job
  is retried a second later (``DestinationBusy``).
- **Stop.** A stop marks the execution; every process's heartbeat (1 s) cancels its running
  tasks of that execution mid-blob, and waiting jobs of stopped tasks are deleted by the trigger.
- **A dead machine.** Its task leases lapse and the reaper in any live process queues them again
  (the trigger defers new jobs); procrastinate's heartbeat marks the dead worker's jobs stalled,
  and the janitor here closes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy
from procrastinate.jobs import Status

from ferry.errors import FerryError
from ferry.jobs.dispatcher import DestinationBusy, Dispatcher

QUEUE = "ferry"
"""The procrastinate queue of ferry's tasks (the name migration 0007's triggers use)."""
PLANNING_QUEUE = "ferry-plan"
"""The queue of plannings: a worker takes a job of each queue only for a free slot of its kind."""

log = logging.getLogger("ferry.queue")


@dataclass(frozen=True)
class QueueSettings:
    heartbeat_seconds: float = 2.0
    """How often a worker tells procrastinate it is alive."""
    stalled_seconds: float = 15.0
    """A worker silent this long is dead: its running jobs are stalled."""
    janitor_seconds: float = 10.0
    busy_retry_seconds: int = 1
    """How long a task waits when its destination registry is at its limit."""
    poll_seconds: float = 1.0
    """How often a worker with a free slot looks for jobs besides the queue's notifications (a
    job retried for a busy registry is found this way)."""


def libpq_url(database_url: str) -> str:
    """A libpq connection string from ferry's SQLAlchemy URL (``postgresql+psycopg://``)."""
    scheme, separator, rest = database_url.partition("://")
    return f"postgresql://{rest}" if separator and scheme.startswith("postgresql") else database_url


class TaskQueue:
    """procrastinate's app and worker for one process, feeding its ``Dispatcher``."""

    def __init__(
        self, database_url: str, dispatcher: Dispatcher, settings: QueueSettings | None = None
    ) -> None:
        self._settings = settings or QueueSettings()
        self._dispatcher = dispatcher
        self.app = App(connector=PsycopgConnector(conninfo=libpq_url(database_url)))
        retry = RetryStrategy(
            max_attempts=1_000_000,
            wait=self._settings.busy_retry_seconds,
            retry_exceptions={DestinationBusy},
        )

        @self.app.task(name="ferry.run_task", queue=QUEUE, retry=retry, pass_context=True)
        async def run_task(context: JobContext, task_id: int) -> None:
            await self._guarded(f"task {task_id}", lambda: dispatcher.run_claimed_task(task_id))

        @self.app.task(name="ferry.plan_execution", queue=PLANNING_QUEUE, pass_context=True)
        async def plan_execution(context: JobContext, execution_id: int) -> None:
            await self._guarded(
                f"planning of execution {execution_id}", lambda: dispatcher.run_claimed_planning(execution_id)
            )

    async def _guarded(self, what: str, work: Callable[[], Awaitable[None]]) -> None:
        """A job's edge: ferry records failures in its own tables, so a job ends as done unless
        the destination is busy (then procrastinate retries it)."""
        try:
            await work()
        except DestinationBusy:
            raise
        except FerryError as exc:
            log.warning("%s could not run here: %s", what, exc)

    async def run(self, *, tasks: int, plannings: int) -> None:
        """Take up to ``tasks`` task jobs and ``plannings`` planning jobs at once until cancelled.
        A worker fetches a job only for a free slot, so a busy process leaves work to idle ones."""
        async with self.app.open_async():
            loops = [
                asyncio.create_task(self._worker(QUEUE, tasks), name="ferry-queue-tasks"),
                asyncio.create_task(self._worker(PLANNING_QUEUE, plannings), name="ferry-queue-plannings"),
                asyncio.create_task(self._janitor(), name="ferry-queue-janitor"),
            ]
            try:
                await asyncio.gather(*loops)
            finally:
                for loop in loops:
                    loop.cancel()
                for loop in loops:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await loop

    async def _worker(self, queue: str, concurrency: int) -> None:
        await self.app.run_worker_async(
            queues=[queue],
            concurrency=concurrency,
            name=f"{self._dispatcher.owner}/{queue}",
            install_signal_handlers=False,
            update_heartbeat_interval=self._settings.heartbeat_seconds,
            stalled_worker_timeout=self._settings.stalled_seconds,
            fetch_job_polling_interval=self._settings.poll_seconds,
            shutdown_graceful_timeout=10.0,
            delete_jobs="successful",
            listen_notify=True,
        )

    async def _janitor(self) -> None:
        """Close the jobs of dead workers, and queue again the work left without a job. A dead
        worker's running tasks are queued again by the reaper once their lease lapses; a job it
        had taken but not started is replaced here."""
        manager = self.app.job_manager
        while True:
            await asyncio.sleep(self._settings.janitor_seconds)
            try:
                stalled = [
                    job
                    for queue in (QUEUE, PLANNING_QUEUE)
                    for job in await manager.get_stalled_jobs(
                        queue=queue, seconds_since_heartbeat=self._settings.stalled_seconds
                    )
                ]
                for job in stalled:
                    await manager.finish_job(job, status=Status.FAILED, delete_job=True)
                if stalled:
                    log.info("closed %d job(s) of stopped workers", len(stalled))
                requeued = await self._dispatcher.requeue_orphans()
                if requeued:
                    log.info("queued %d task(s) again whose job was lost", requeued)
                await manager.prune_stalled_workers(self._settings.stalled_seconds)
            except Exception:  # a database hiccup must not end the worker; the next round retries
                log.exception("the queue janitor failed")
