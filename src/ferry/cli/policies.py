"""``ferry run-policy``, ``ferry worker`` and ``ferry executions``: replication policies run from a
rule file, with executions, tasks and logs kept in the data directory's database.

The heavy modules (SQLAlchemy, the dispatcher) are imported inside the commands, so that
``ferry copy`` and ``ferry sync`` do not pay for them at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ferry.cli.remote import SERVER_HELP, server_options
from ferry.cli.run import cli_errors

if TYPE_CHECKING:
    from ferry.jobs.dispatcher import DispatcherSettings
    from ferry.jobs.service import ReplicationService
    from ferry.store import Store

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def store_options(function: F) -> F:
    options = [
        click.option(
            "--data-dir",
            type=click.Path(file_okay=False, path_type=Path),
            envvar="FERRY_DATA_DIR",
            show_envvar=True,
            help="Where ferry keeps its database and secret key (default: ~/.local/share/ferry).",
        ),
        click.option(
            "--database-url",
            envvar="FERRY_DATABASE_URL",
            show_envvar=True,
            metavar="URL",
            help="postgresql://user:password@host/db to share a PostgreSQL database "
            "(default: SQLite in the data directory).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def dispatch_options(function: F) -> F:
    options = [
        click.option(
            "--tasks", "max_tasks", type=click.IntRange(1, 256), default=8, show_default=True,
            help="Repositories copied at once.",
        ),
        click.option(
            "-j", "--jobs", "concurrency", type=click.IntRange(1, 256), default=16, show_default=True,
            help="Blob transfers at once per execution.",
        ),
        click.option(
            "--attempts", type=click.IntRange(1, 100), default=3, show_default=True,
            help="Attempts per task; failures a retry can cure (registry down, connection cut) are retried.",
        ),
        click.option(
            "--retry-delay", type=click.FloatRange(0, 3600), default=5.0, show_default=True,
            metavar="SECONDS",
            help="First retry's delay; it doubles per attempt (jittered, at most 5 minutes).",
        ),
    ]  # fmt: skip
    for option in reversed(options):
        function = option(function)
    return function


def queue_options(function: F) -> F:
    """How a process shares work with the others on one PostgreSQL database (docs/deployment.md)."""
    options = [
        click.option(
            "--task-queue/--no-task-queue", "task_queue", default=None,
            help="Take work from the task queue (procrastinate) that every ferry serve and ferry worker "
            "on the same PostgreSQL database shares. Default: on with a PostgreSQL --database-url, "
            "off with SQLite (one machine).",
        ),
        click.option(
            "--registry-task-limit", type=click.IntRange(1, 1024), default=32, show_default=True,
            help="Tasks running against one destination registry at once, across all processes "
            "sharing the task queue.",
        ),
    ]  # fmt: skip
    for option in reversed(options):
        function = option(function)
    return function


def _settings(flags: dict[str, Any]) -> DispatcherSettings:
    from ferry.jobs.dispatcher import DispatcherSettings
    from ferry.jobs.retry import TaskRetryPolicy

    return DispatcherSettings(
        max_tasks=flags["max_tasks"],
        copy_concurrency=flags["concurrency"],
        retry=TaskRetryPolicy(attempts=flags["attempts"], base_delay=flags["retry_delay"]),
        registry_task_limit=flags.get("registry_task_limit") or 32,
    )


async def _open(flags: dict[str, Any]) -> Store:
    from ferry.jobs.service import default_data_dir, open_store

    data_dir = flags["data_dir"] or default_data_dir(dict(os.environ))
    return await open_store(
        data_dir, database_url=flags["database_url"], key_text=os.environ.get("FERRY_SECRET_KEY")
    )


def _run_async(main: Awaitable[T]) -> T:
    with cli_errors():
        return asyncio.run(main)  # type: ignore[arg-type]


@click.command("run-policy")
@click.option(
    "-f", "--file", "rule_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="Rule file (YAML) declaring the local registry, registries and policies.",
)  # fmt: skip
@click.option("--name", help="The policy to run, when the file declares several.")
@click.option(
    "--dry-run", is_flag=True, help="Show what the policy would copy (the plan) and change nothing."
)
@click.option("--json", "json_output", is_flag=True, help="Print the result as JSON.")
@store_options
@dispatch_options
def run_policy(**flags: Any) -> None:
    """Run one replication policy from a rule file, end to end.

    \b
    The file's registries and policies are saved (created or updated by name) in the data
    directory's database, an execution is started, and its tasks run here with retries; every task
    keeps a log (`ferry executions log TASK`). If an earlier run of the policy was interrupted (the
    machine crashed, the process was killed), that execution is resumed instead of starting anew.
    Ctrl-C stops the execution: running copies are cancelled, nothing half-copied is tagged.

    \b
    Example rule file (secrets come from the environment, so the file can live in git):
      local: {url: "http://127.0.0.1:5000"}
      registries:
        - {name: acr, url: "https://registry.cn-hangzhou.aliyuncs.com",
           credential: {access_key: me, access_secret_env: ACR_PASSWORD}}
      policy:
        name: prod-to-acr
        src_registry: Local
        dest_registry: acr
        dest_namespace: myteam
        filters: [{type: name, value: "library/**"}, {type: tag, value: "prod-*, v*"}]

    Exit status: 0 when the execution succeeded, 1 otherwise.
    """
    from ferry.cli.executions_view import run_policy_command

    _run_async(run_policy_command(flags, _open, _settings(flags)))


@click.command("worker")
@store_options
@dispatch_options
@queue_options
@click.option("--until-idle", is_flag=True, help="Exit once no execution is unfinished.")
@click.option(
    "--local-registry", metavar="URL", help="The local registry's URL, for policies that use it (id 0)."
)
@click.option(
    "-f", "--file", "rule_file", type=click.Path(dir_okay=False, path_type=Path),
    help="Take the local registry from this rule file's `local:` section.",
)  # fmt: skip
def worker(**flags: Any) -> None:
    """Run queued and interrupted executions from the database.

    Resumes the work a crashed or killed ferry left behind: tasks whose worker is gone are queued
    again and copied (blobs already at the destination are not sent twice).

    Without --until-idle it also starts the scheduled policies' runs (their cron) and watches the
    sources of event-based policies that send no events; several workers and ferry serve may
    share a database, each fire and each round still runs once.

    \b
    More machines: start `ferry worker --database-url postgresql://...` on each machine that
    shares ferry serve's PostgreSQL database; the task queue hands each task to one of them, a
    dead worker's tasks run elsewhere, and a stop reaches every machine (docs/deployment.md).
      ferry worker --database-url postgresql://ferry:PASSWORD@db.internal/ferry --tasks 8
    Give every process the same FERRY_SECRET_KEY: registry secrets are encrypted with it.
    """
    from ferry.cli.executions_view import worker_command

    _run_async(worker_command(flags, _open, _settings(flags)))


@click.group("executions", epilog=SERVER_HELP)
def executions() -> None:
    """List executions, their tasks and logs; stop or re-run them.

    \b
    On a ferry server when one is configured (--server, FERRY_SERVER, or `ferry login`),
    else in the local data directory that `ferry run-policy` uses; --data-dir,
    FERRY_DATA_DIR or --database-url always choose the local one. Each table's title
    says which.

    \b
    Examples:
      ferry executions list --policy prod-to-aliyun
      ferry executions show 12
      ferry executions log 12 57 --follow    # on a server: EXECUTION TASK
      ferry executions log 57                # locally: TASK
      ferry executions stop 12
      ferry executions retry 12              # re-run the failed and stopped tasks
    """


def _on_server(flags: dict[str, Any]) -> bool:
    from ferry.cli.remote import server_configured

    return server_configured(flags)


@executions.command("list", epilog=SERVER_HELP)
@click.option("--policy", "policy_name", help="Only this policy's executions.")
@click.option("--json", "json_output", is_flag=True)
@store_options
@server_options
def list_executions(**flags: Any) -> None:
    """The newest executions first, with Harbor's statuses and counts."""
    if _on_server(flags):
        from ferry.cli.executions_remote import list_remote

        with cli_errors():
            list_remote(flags)
        return
    from ferry.cli.executions_view import list_command

    _run_async(list_command(flags, _open))


@executions.command("show", epilog=SERVER_HELP)
@click.argument("execution_id", type=int)
@click.option("--json", "json_output", is_flag=True)
@store_options
@server_options
def show_execution(**flags: Any) -> None:
    """One execution and its tasks."""
    if _on_server(flags):
        from ferry.cli.executions_remote import show_remote

        with cli_errors():
            show_remote(flags)
        return
    from ferry.cli.executions_view import show_command

    _run_async(show_command(flags, _open))


@executions.command("log", epilog=SERVER_HELP)
@click.argument("ids", nargs=-1, type=int, required=True, metavar="[EXECUTION] TASK")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until the task ends.")
@store_options
@server_options
def task_log(ids: tuple[int, ...], **flags: Any) -> None:
    """A task's log (plain text, as Harbor's task log endpoint returns it).

    On a server name the execution too: `ferry executions log EXECUTION TASK`.
    """
    if len(ids) > 2:
        raise click.UsageError("give at most two ids: [EXECUTION] TASK")
    if _on_server(flags):
        from ferry.cli.executions_remote import log_remote

        with cli_errors():
            log_remote(flags, ids)
        return
    from ferry.cli.executions_view import log_command

    _run_async(log_command({**flags, "task_id": ids[-1]}, _open))


@executions.command("stop", epilog=SERVER_HELP)
@click.argument("execution_id", type=int)
@store_options
@server_options
def stop_execution(**flags: Any) -> None:
    """Stop an execution; its running tasks are cancelled within seconds."""
    if _on_server(flags):
        from ferry.cli.executions_remote import stop_remote

        with cli_errors():
            stop_remote(flags)
        return
    from ferry.cli.executions_view import stop_command

    _run_async(stop_command(flags, _open))


@executions.command("retry", epilog=SERVER_HELP)
@click.argument("execution_id", type=int)
@click.option(
    "--local-registry", metavar="URL", help="The local registry's URL, if the policy uses it (local only)."
)
@click.option(
    "-f", "--file", "rule_file", type=click.Path(dir_okay=False, path_type=Path),
    help="Take the local registry from this rule file's `local:` section (local only).",
)  # fmt: skip
@store_options
@dispatch_options
@server_options
def retry_execution(**flags: Any) -> None:
    """Re-run only the failed and stopped tasks of a finished execution, as a new execution."""
    if _on_server(flags):
        from ferry.cli.executions_remote import retry_remote

        with cli_errors():
            retry_remote(flags)
        return
    from ferry.cli.executions_view import retry_command

    _run_async(retry_command(flags, _open, _settings(flags)))


def install_stop_on_interrupt(service: ReplicationService, execution_id: int) -> None:
    """Ctrl-C (or SIGTERM) asks the execution to stop; a second one exits at once."""
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[object]] = []

    def interrupted() -> None:
        if stopping:
            sys.exit(130)
        click.echo("stopping: cancelling running copies (Ctrl-C again to quit at once)", err=True)
        stopping.append(loop.create_task(service.stop_execution(execution_id)))

    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, interrupted)
