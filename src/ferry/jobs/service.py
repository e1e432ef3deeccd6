"""The replication service: what the CLI (and later the API) calls. It opens the store in a data
directory, applies rule files, starts, stops and re-runs executions, and runs the dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ferry.config.rulefile import RuleFile
from ferry.errors import InvalidInput
from ferry.jobs.context import Clock, utc_now
from ferry.jobs.dispatcher import Dispatcher, DispatcherSettings
from ferry.jobs.planner import ExecutionPlan, plan_execution
from ferry.jobs.recording import MetricsRecorder
from ferry.replication.domain.execution import Execution
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.registry import LOCAL_REGISTRY_ID, LOCAL_REGISTRY_NAME, Registry
from ferry.replication.domain.status import TriggerType
from ferry.store import Store
from ferry.store.database import sqlite_url
from ferry.store.secrets import KEY_FILE_NAME, SecretBox, load_or_create_key_file

if TYPE_CHECKING:
    from ferry.jobs.queue import TaskQueue


def default_data_dir(environ: dict[str, str]) -> Path:
    """``$XDG_DATA_HOME/ferry``, else ``~/.local/share/ferry``."""
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ferry"


def secret_box(data_dir: Path, *, key_text: str | None) -> SecretBox:
    """The operator's key (``FERRY_SECRET_KEY``, read by the caller) or the data directory's key file."""
    if key_text:
        return SecretBox.from_text(key_text)
    return load_or_create_key_file(data_dir / KEY_FILE_NAME)


def prepare_data_dir(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)


async def open_store(data_dir: Path, *, database_url: str | None, key_text: str | None) -> Store:
    prepare_data_dir(data_dir)
    return await Store.open(database_url or sqlite_url(data_dir), secret_box(data_dir, key_text=key_text))


def queue_url_for(database_url: str | None, task_queue: bool | None) -> str | None:
    """The database the task queue runs on: a PostgreSQL ``database_url`` unless the queue is
    turned off; ``InvalidInput`` when it is asked for without PostgreSQL."""
    postgres = bool(database_url) and str(database_url).startswith("postgresql")
    if task_queue and not postgres:
        raise InvalidInput(
            "the task queue needs a PostgreSQL database",
            hint="give --database-url postgresql://user:password@host/db, or leave --task-queue out",
        )
    return database_url if postgres and task_queue is not False else None


class ReplicationService:
    def __init__(
        self,
        store: Store,
        *,
        local_registry: Registry | None = None,
        settings: DispatcherSettings | None = None,
        clock: Clock = utc_now,
        metrics: MetricsRecorder | None = None,
        queue_url: str | None = None,
    ) -> None:
        """``queue_url`` (a PostgreSQL URL) runs the work through the task queue shared by every
        process on that database (``jobs.queue``); without it, this process claims work itself."""
        self.store = store
        self.local_registry = local_registry
        self.clock = clock
        settings = settings or DispatcherSettings()
        if queue_url is not None:
            settings = replace(settings, poll=False)
        self._slots = (settings.max_tasks, settings.max_plannings)
        self.dispatcher = Dispatcher(
            store,
            settings,
            local_registry=local_registry,
            clock=clock,
            metrics=metrics,
        )
        self.queue: TaskQueue | None = None
        if queue_url is not None:
            from ferry.jobs.queue import TaskQueue

            self.queue = TaskQueue(queue_url, self.dispatcher)

    async def run_workers(self) -> None:
        """Run this process's share of the work until cancelled: the dispatcher alone (one
        machine), or the dispatcher fed by the task queue (PostgreSQL, several machines)."""
        if self.queue is None:
            await self.dispatcher.run()
            return
        async with asyncio.TaskGroup() as group:
            group.create_task(self.dispatcher.run(), name="ferry-dispatcher")
            tasks, plannings = self._slots
            group.create_task(self.queue.run(tasks=tasks, plannings=plannings), name="ferry-queue")

    async def apply(self, rules: RuleFile) -> list[Policy]:
        """Create or update the file's registries and policies, matched by name."""
        ids = {LOCAL_REGISTRY_NAME: LOCAL_REGISTRY_ID}
        for registry in rules.registries:
            ids[registry.name] = (await self._upsert_registry(registry)).id
        return [
            await self._upsert_policy(
                replace(
                    spec.policy,
                    src_registry_id=ids[spec.src_registry],
                    dest_registry_id=ids[spec.dest_registry],
                )
            )
            for spec in rules.policies
        ]

    async def _upsert_registry(self, registry: Registry) -> Registry:
        stored = await self.store.registries.find_by_name(registry.name)
        if stored is None:
            return await self.store.registries.add(registry)
        unchanged = replace(registry, id=stored.id, status=stored.status, creation_time=stored.creation_time)
        if replace(unchanged, update_time=stored.update_time) == stored:
            return stored
        return await self.store.registries.update(unchanged)

    async def _upsert_policy(self, policy: Policy) -> Policy:
        stored = await self.store.policies.find_by_name(policy.name)
        if stored is None:
            return await self.store.policies.add(policy)
        candidate = replace(policy, id=stored.id, creation_time=stored.creation_time)
        if replace(candidate, update_time=stored.update_time) == stored:
            return stored
        return await self.store.policies.update(candidate)

    async def plan(self, policy: Policy) -> ExecutionPlan:
        """What a run of ``policy`` would copy, without copying (a dry run)."""
        source = await self.dispatcher.registry(policy.src_registry_id)
        destination = await self.dispatcher.registry(policy.dest_registry_id)
        return await plan_execution(policy, source, destination)

    async def start_execution(self, policy: Policy, trigger: TriggerType = TriggerType.MANUAL) -> Execution:
        execution = await self.store.executions.start(policy, trigger, now=self.clock())
        self.dispatcher.wake()
        return execution

    async def resume_or_start(self, policy: Policy) -> tuple[Execution, bool]:
        """The policy's unfinished execution (left by a crash) if there is one, else a new one;
        True when resumed."""
        unfinished = await self.store.executions.find_unfinished(policy.id)
        if unfinished is not None:
            return unfinished, True
        return await self.start_execution(policy), False

    async def stop_execution(self, execution_id: int) -> Execution:
        return await self.store.executions.request_stop(execution_id, now=self.clock())

    async def retry_execution(self, execution_id: int) -> Execution:
        execution = await self.store.executions.retry_failed(execution_id, now=self.clock())
        self.dispatcher.wake()
        return execution

    async def run_until_finished(self, execution_id: int) -> Execution:
        """Dispatch (this execution and any other due work) until the execution has ended."""

        async def finished() -> bool:
            return (await self.store.executions.get(execution_id)).is_finished

        await self.dispatcher.run(stop_when=finished)
        return await self.store.executions.get(execution_id)

    async def run_until_idle(self) -> None:
        """Dispatch until no execution is unfinished (resumes the work a crash left behind)."""

        async def idle() -> bool:
            return not await self.store.executions.unfinished_ids()

        if self.queue is None:
            await self.dispatcher.run(stop_when=idle)
            return
        working = asyncio.create_task(self.run_workers(), name="ferry-workers")
        try:
            while not await idle():
                finished, _ = await asyncio.wait({working}, timeout=0.5)
                if finished:
                    break
        finally:
            working.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await working
