"""The in-process dispatcher: claims plannings and tasks from the store, runs a bounded number at
once, renews their leases, saves progress and logs, applies stops and retries, and re-queues the
work of dead processes.

Every claim is one ``UPDATE ... RETURNING`` in the store; every later change names this process as
owner, so a process whose lease was taken over can change nothing. A later dispatcher (the
distributed engine on PostgreSQL) replaces this loop and keeps ``TaskRunner``'s per-task code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from ferry.errors import FerryError, InvalidInput
from ferry.jobs.context import Clock, ExecutionContext, utc_now
from ferry.jobs.identity import is_dead_here, worker_identity
from ferry.jobs.planner import plan_execution
from ferry.jobs.recording import MetricsRecorder, NoMetrics
from ferry.jobs.retry import TaskRetryPolicy
from ferry.jobs.runner import EndReason, TaskRunner
from ferry.replication.domain.execution import Execution, Task
from ferry.replication.domain.registry import LOCAL_REGISTRY_ID, Registry
from ferry.store import Store
from ferry.store.tasks import RegistryBusy

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatcherSettings:
    max_tasks: int = 8
    """Tasks (repositories) copied at once by this process."""
    max_plannings: int = 2
    copy_concurrency: int = 16
    """Blob transfers at once per execution (the engine's shared slots)."""
    lease_seconds: float = 15.0
    heartbeat_seconds: float = 1.0
    """How often leases are renewed, progress and logs saved, and stops noticed."""
    poll_seconds: float = 0.5
    reap_seconds: float = 5.0
    retry: TaskRetryPolicy = field(default_factory=TaskRetryPolicy)
    poll: bool = True
    """Claim work by polling the store (one machine); off when the task queue hands work in."""
    registry_task_limit: int = 32
    """Tasks running against one destination registry at once, across every process sharing the
    database (applied to the work the task queue hands in)."""


class DestinationBusy(FerryError):
    """The task's destination registry already runs its limit of tasks: try again shortly."""


@dataclass(frozen=True)
class Activity:
    """What this process is doing right now (the in-flight gauges of the metrics)."""

    tasks_running: int = 0
    transfers_in_flight: int = 0


@dataclass
class _Running:
    task: Task
    handle: asyncio.Task[None] | None = None
    reason: EndReason | None = None


StopWhen = Callable[[], Awaitable[bool]]


class Dispatcher:
    def __init__(
        self,
        store: Store,
        settings: DispatcherSettings = DispatcherSettings(),
        *,
        local_registry: Registry | None = None,
        owner: str | None = None,
        clock: Clock = utc_now,
        metrics: MetricsRecorder | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._local = local_registry
        self.owner = owner or worker_identity()
        self._clock = clock
        self._metrics = metrics or NoMetrics()
        self._running: dict[int, _Running] = {}
        self._plannings: dict[int, asyncio.Task[None]] = {}
        self._contexts: dict[int, asyncio.Future[ExecutionContext]] = {}
        self._wake = asyncio.Event()
        self._runner = TaskRunner(store, self.owner, settings.retry, clock, metrics=self._metrics)

    async def run(self, *, stop_when: StopWhen | None = None) -> None:
        """Dispatch until cancelled, or until nothing runs here and ``stop_when()`` is true."""
        beating = asyncio.create_task(self._heartbeat_loop(), name="ferry-heartbeat")
        last_reap = -1e9
        try:
            while True:
                if time.monotonic() - last_reap >= self._settings.reap_seconds:
                    await self._reap()
                    last_reap = time.monotonic()
                if self._settings.poll:
                    await self._claim()
                idle = not self._running and not self._plannings
                if idle and stop_when is not None and await stop_when():
                    return
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._settings.poll_seconds)
        finally:
            # Wait for the heartbeat to end before the caller may close the store: a beat left
            # running inside a database call when the engine is disposed never completes.
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
            await self._shutdown()

    def activity(self) -> Activity:
        contexts = [
            pending.result()
            for pending in self._contexts.values()
            if pending.done() and not pending.cancelled() and pending.exception() is None
        ]
        return Activity(
            tasks_running=len(self._running),
            transfers_in_flight=sum(context.engine.transfers_in_flight for context in contexts),
        )

    def wake(self) -> None:
        """Look for work now (an execution was just started)."""
        self._wake.set()

    async def _claim(self) -> None:
        now = self._clock()
        lease_until = now + timedelta(seconds=self._settings.lease_seconds)
        free_plannings = self._settings.max_plannings - len(self._plannings)
        if free_plannings > 0:
            for execution in await self._store.executions.claim_planning(
                self.owner, lease_until=lease_until, now=now, limit=free_plannings
            ):
                self._plannings[execution.id] = asyncio.create_task(self._plan(execution))
        free = self._settings.max_tasks - len(self._running)
        if free > 0:
            for task in await self._store.tasks.claim(
                self.owner, lease_until=lease_until, now=now, limit=free
            ):
                running = _Running(task)
                self._running[task.id] = running
                running.handle = asyncio.create_task(self._run(running), name=f"ferry-task-{task.id}")

    async def run_claimed_task(self, task_id: int) -> None:
        """Claim task ``task_id`` and run it here to its end (the task queue's job). Nothing to do
        when another process has it or it has ended; ``DestinationBusy`` at the registry's limit.
        Cancelled (the worker stops), the task is released for another process."""
        now = self._clock()
        claimed = await self._store.tasks.claim_within_limit(
            task_id,
            self.owner,
            lease_until=now + timedelta(seconds=self._settings.lease_seconds),
            now=now,
            registry_limit=self._settings.registry_task_limit,
        )
        if isinstance(claimed, RegistryBusy):
            raise DestinationBusy(
                f"task {task_id} waits: {claimed.running} task(s) already run against its destination"
            )
        if claimed is None:
            return
        running = _Running(claimed)
        self._running[task_id] = running
        running.handle = asyncio.create_task(self._run(running), name=f"ferry-task-{task_id}")
        try:
            await asyncio.shield(running.handle)
        except asyncio.CancelledError:
            self._end(task_id, EndReason.SHUTDOWN)
            with contextlib.suppress(asyncio.CancelledError):
                await running.handle
            raise

    async def requeue_orphans(self) -> int:
        """Queue again the waiting work whose job the task queue lost (a worker died holding it)."""
        return await self._store.tasks.requeue_orphans()

    async def run_claimed_planning(self, execution_id: int) -> None:
        """Claim execution ``execution_id``'s planning and plan it here (the task queue's job)."""
        now = self._clock()
        claimed = await self._store.executions.claim_planning(
            self.owner,
            lease_until=now + timedelta(seconds=self._settings.lease_seconds),
            now=now,
            limit=1,
            only=execution_id,
        )
        if not claimed:
            return
        planning = asyncio.create_task(self._plan(claimed[0]), name=f"ferry-plan-{execution_id}")
        self._plannings[execution_id] = planning
        try:
            await asyncio.shield(planning)
        except asyncio.CancelledError:
            planning.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await planning
            raise

    async def _plan(self, execution: Execution) -> None:
        executions = self._store.executions
        try:
            policy = await self._store.policies.get(execution.policy_id)
            source = await self.registry(policy.src_registry_id)
            destination = await self.registry(policy.dest_registry_id)
            plan = await plan_execution(
                policy, source, destination, observer=self._metrics, scope=execution.scope
            )
            await executions.finish_planning(
                execution.id, self.owner, plan.tasks, now=self._clock(), note=plan.note
            )
        except asyncio.CancelledError:
            await executions.release_planning(execution.id, self.owner)
            raise
        except FerryError as exc:
            await executions.fail_planning(
                execution.id, self.owner, f"planning failed: {exc}", now=self._clock()
            )
        except Exception as exc:  # the per-job edge: a bug must end this execution, not the dispatcher
            logger.exception("planning execution %s failed", execution.id)
            message = f"planning failed: internal error: {type(exc).__name__}: {exc}"
            await executions.fail_planning(execution.id, self.owner, message, now=self._clock())
        finally:
            self._plannings.pop(execution.id, None)
            self._wake.set()

    async def _run(self, running: _Running) -> None:
        task = running.task
        context: ExecutionContext | None = None
        try:
            try:
                context = await self._context(task.execution_id)
            except FerryError as exc:
                await self._runner.fail_to_start(task, exc)
                return
            context.users += 1
            await self._runner.run(task, context, ended=lambda: running.reason)
        except Exception:  # the per-task edge
            logger.exception("task %s failed unexpectedly", task.id)
        finally:
            if context is not None:
                context.users -= 1
                if context.users == 0:
                    self._contexts.pop(task.execution_id, None)
                    await context.aclose()
            self._running.pop(task.id, None)
            self._wake.set()

    async def _context(self, execution_id: int) -> ExecutionContext:
        pending = self._contexts.get(execution_id)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._contexts[execution_id] = pending
            try:
                execution = await self._store.executions.get(execution_id)
                policy = await self._store.policies.get(execution.policy_id)
                context = ExecutionContext(
                    policy,
                    await self.registry(policy.src_registry_id),
                    await self.registry(policy.dest_registry_id),
                    concurrency=self._settings.copy_concurrency,
                    metrics=self._metrics,
                    trigger=execution.trigger,
                )
            except BaseException as exc:
                self._contexts.pop(execution_id, None)
                pending.set_exception(exc)
                pending.exception()
                raise
            pending.set_result(context)
        return await asyncio.shield(pending)

    async def registry(self, registry_id: int) -> Registry:
        if registry_id != LOCAL_REGISTRY_ID:
            return await self._store.registries.get(registry_id)
        if self._local is None:
            raise InvalidInput(
                "the rule uses the local registry (id 0), but this ferry has no local registry configured",
                hint="give the local registry's URL (the rule file's `local:` section, or --local-registry)",
            )
        return self._local

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.heartbeat_seconds)
            try:
                await self._heartbeat()
            except Exception:  # a database hiccup must not stop the dispatcher; the next beat retries
                logger.exception("heartbeat failed")

    async def _heartbeat(self) -> None:
        for task_id in list(self._running):
            await self._runner.save_progress(task_id)
        lease_until = self._clock() + timedelta(seconds=self._settings.lease_seconds)
        beat = await self._store.tasks.heartbeat(
            self.owner, list(self._running), list(self._plannings), lease_until=lease_until
        )
        ending = {task_id: EndReason.STOP for task_id in beat.stop}
        ending.update({task_id: EndReason.LOST for task_id in beat.lost})
        for task_id, reason in ending.items():
            self._end(task_id, reason)

    def _end(self, task_id: int, reason: EndReason) -> None:
        running = self._running.get(task_id)
        if running is not None and running.reason is None and running.handle is not None:
            running.reason = reason
            running.handle.cancel()

    async def _reap(self) -> None:
        owners = await self._store.tasks.running_owners()
        dead = [owner for owner in owners if owner != self.owner and is_dead_here(owner)]
        reaped = await self._store.tasks.reap(now=self._clock(), dead_owners=dead)
        if reaped:
            logger.info("re-queued %d task(s) of stopped workers", reaped)

    async def _shutdown(self) -> None:
        for running in self._running.values():
            if running.handle is not None and running.reason is None:
                running.reason = EndReason.SHUTDOWN
                running.handle.cancel()
        for planning in self._plannings.values():
            planning.cancel()
        pending = [item.handle for item in self._running.values() if item.handle] + list(
            self._plannings.values()
        )
        await asyncio.gather(*pending, return_exceptions=True)
