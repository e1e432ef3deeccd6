"""The bodies of the policy commands (see ``policies``): open the store, call the service, show
executions and tasks as tables (or Harbor-shaped JSON)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ferry.api.views import execution_json, task_json
from ferry.cli.executions_render import executions_table, print_report, report_json
from ferry.config.rulefile import load_rule_file
from ferry.errors import InvalidInput
from ferry.jobs.dispatcher import DispatcherSettings
from ferry.jobs.scheduler import Scheduler
from ferry.jobs.service import ReplicationService, default_data_dir, queue_url_for
from ferry.jobs.watcher import Watcher
from ferry.replication.domain.execution import Execution, Task
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.registry import Registry, RegistryType, local_registry
from ferry.store import Store
from ferry.store.tasks import TaskQuery, format_log

Opener = Callable[[dict[str, Any]], Awaitable[Store]]


def _console() -> Console:
    return Console(highlight=False)


async def run_policy_command(flags: dict[str, Any], open_store: Opener, settings: DispatcherSettings) -> None:
    rules = load_rule_file(flags["rule_file"], environ=dict(os.environ), now=datetime.now(UTC))
    spec = rules.policy_named(flags["name"])
    store = await open_store(flags)
    try:
        service = ReplicationService(store, local_registry=rules.local, settings=settings)
        policies = await service.apply(rules)
        policy = next(item for item in policies if item.name == spec.policy.name)
        if flags["dry_run"]:
            await _dry_run(service, policy, flags)
            return
        execution, resumed = await service.resume_or_start(policy)
        console = _console()
        if not flags["json_output"]:
            verb = "resuming interrupted" if resumed else "started"
            console.print(f"policy [bold]{escape(policy.name)}[/]: {verb} execution {execution.id}")
        from ferry.cli.policies import install_stop_on_interrupt

        install_stop_on_interrupt(service, execution.id)
        watcher = asyncio.create_task(_watch(store, execution.id, console, quiet=flags["json_output"]))
        try:
            finished = await service.run_until_finished(execution.id)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        tasks, _ = await store.tasks.list_tasks(TaskQuery(execution.id, limit=10_000))
        _report(console, finished, tasks, json_output=flags["json_output"])
        if finished.api_status.value != "Succeed":
            sys.exit(1)
    finally:
        await store.close()


async def _dry_run(service: ReplicationService, policy: Policy, flags: dict[str, Any]) -> None:
    plan = await service.plan(policy)
    if flags["json_output"]:
        shaped = [
            {
                "src_resource": task.source_repository,
                "dst_resource": task.destination_repository,
                "references": [ref for artifact in task.artifacts for ref in artifact.references],
            }
            for task in plan.tasks
        ]
        print(json.dumps({"tasks": shaped, "note": plan.note}, indent=2))
        return
    console = _console()
    table = Table(title=f"dry run of {policy.name}: nothing is copied", title_justify="left")
    for column in ("source", "destination", "items"):
        table.add_column(column)
    for task in plan.tasks:
        references = [ref for artifact in task.artifacts for ref in artifact.references]
        table.add_row(task.source_repository, task.destination_repository, ", ".join(references))
    console.print(table)
    if plan.note:
        console.print(f"[yellow]note:[/] {escape(plan.note)}")


async def _watch(store: Store, execution_id: int, console: Console, *, quiet: bool) -> None:
    """Print a line whenever the execution's counts change (a live view for long runs)."""
    if quiet:
        return
    last = None
    while True:
        await asyncio.sleep(1.0)
        execution = await store.executions.get(execution_id)
        counts = execution.counts
        now = (counts.total, counts.succeed, counts.failed, counts.stopped)
        if now != last and counts.total:
            last = now
            console.print(
                f"  tasks: {counts.succeed + counts.failed + counts.stopped}/{counts.total} done "
                f"({counts.succeed} succeeded, {counts.failed} failed, {counts.stopped} stopped)"
            )


def _report(console: Console, execution: Execution, tasks: list[Task], *, json_output: bool) -> None:
    shown, shown_tasks = execution_json(execution), [task_json(task) for task in tasks]
    if json_output:
        print(report_json(shown, shown_tasks))
        return
    print_report(console, shown, shown_tasks, log_command=lambda task: f"ferry executions log {task['id']}")


def _local(flags: dict[str, Any]) -> Registry | None:
    """The local registry from --local-registry, or from the `local:` section of -f FILE."""
    url = flags.get("local_registry")
    if url:
        return local_registry(type=RegistryType.DOCKER_REGISTRY, url=url, now=datetime.now(UTC))
    if flags.get("rule_file"):
        return load_rule_file(flags["rule_file"], environ=dict(os.environ), now=datetime.now(UTC)).local
    return None


async def worker_command(flags: dict[str, Any], open_store: Opener, settings: DispatcherSettings) -> None:
    if not flags["until_idle"]:
        _stop_on_signals()
    store = await open_store(flags)
    try:
        service = ReplicationService(
            store,
            local_registry=_local(flags),
            settings=settings,
            queue_url=queue_url_for(flags["database_url"], flags.get("task_queue")),
        )
        if flags["until_idle"]:
            await service.run_until_idle()
            return
        source = "the task queue" if service.queue is not None else _where(flags)
        print(f"ferry worker {service.dispatcher.owner} is taking work from {source}", file=sys.stderr)
        async with asyncio.TaskGroup() as group:  # one failing ends all
            group.create_task(service.run_workers(), name="ferry-workers")
            group.create_task(Scheduler(service).run(), name="ferry-scheduler")
            group.create_task(Watcher(service).run(), name="ferry-watcher")
    except asyncio.CancelledError:
        # SIGTERM or Ctrl-C: running tasks were released for other workers; a clean exit
        print("ferry worker stopped; its running tasks were released for other workers", file=sys.stderr)
    finally:
        await store.close()


def _stop_on_signals() -> None:
    """SIGTERM and SIGINT end the worker cleanly (systemd stops services with SIGTERM)."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    if main is None:
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, main.cancel)


async def list_command(flags: dict[str, Any], open_store: Opener) -> None:
    from ferry.store.executions import ExecutionQuery

    store = await open_store(flags)
    try:
        policies = {policy.id: policy.name for policy in await store.policies.list_policies()}
        policy_id = None
        if flags["policy_name"]:
            matching = [pid for pid, name in policies.items() if name == flags["policy_name"]]
            if not matching:
                raise InvalidInput(f"no policy named {flags['policy_name']!r}", hint="check the name")
            policy_id = matching[0]
        executions, total = await store.executions.list_executions(ExecutionQuery(policy_id=policy_id))
        if flags["json_output"]:
            print(json.dumps([execution_json(item) for item in executions], indent=2))
            return
        console = _console()
        console.print(f"{total} execution(s) in {_where(flags)}")
        console.print(executions_table([execution_json(item) for item in executions], policies))
    finally:
        await store.close()


def _where(flags: dict[str, Any]) -> str:
    """The local store, named without the database password."""
    if flags.get("database_url"):
        parts = urlsplit(flags["database_url"])
        return f"the database {parts.scheme}://{parts.hostname or ''}{parts.path}"
    return f"the data directory {flags['data_dir'] or default_data_dir(dict(os.environ))}"


async def show_command(flags: dict[str, Any], open_store: Opener) -> None:
    store = await open_store(flags)
    try:
        execution = await store.executions.get(flags["execution_id"])
        tasks, _ = await store.tasks.list_tasks(TaskQuery(execution.id, limit=10_000))
        _report(_console(), execution, tasks, json_output=flags["json_output"])
    finally:
        await store.close()


async def log_command(flags: dict[str, Any], open_store: Opener) -> None:
    store = await open_store(flags)
    try:
        after = 0
        while True:
            lines = await store.tasks.read_log(flags["task_id"], after=after)
            sys.stdout.write(format_log(lines))
            sys.stdout.flush()
            if lines:
                after = lines[-1][0]
            if not flags["follow"] or (await store.tasks.get(flags["task_id"])).status.is_final:
                if flags["follow"]:
                    sys.stdout.write(format_log(await store.tasks.read_log(flags["task_id"], after=after)))
                return
            await asyncio.sleep(1.0)
    finally:
        await store.close()


async def stop_command(flags: dict[str, Any], open_store: Opener) -> None:
    store = await open_store(flags)
    try:
        execution = await ReplicationService(store).stop_execution(flags["execution_id"])
        _console().print(
            f"execution {execution.id}: stop requested; "
            f"{execution.counts.in_progress} task(s) still finishing"
        )
    finally:
        await store.close()


async def retry_command(flags: dict[str, Any], open_store: Opener, settings: DispatcherSettings) -> None:
    store = await open_store(flags)
    try:
        service = ReplicationService(store, local_registry=_local(flags), settings=settings)
        execution = await service.retry_execution(flags["execution_id"])
        console = _console()
        console.print(f"execution {execution.id}: re-running {execution.counts.total} task(s)")
        finished = await service.run_until_finished(execution.id)
        tasks, _ = await store.tasks.list_tasks(TaskQuery(execution.id, limit=10_000))
        _report(console, finished, tasks, json_output=False)
        if finished.api_status.value != "Succeed":
            sys.exit(1)
    finally:
        await store.close()
