"""``ferry executions list|show|log|stop|retry`` against a ferry server (the local data directory's
variants are in ``executions_view``); both print through ``executions_render``."""

from __future__ import annotations

import json
from typing import Any

import click

from ferry.cli.executions_render import executions_table, print_report, report_json
from ferry.cli.remote import connect, stderr_console, stdout_console
from ferry.errors import InvalidInput


def list_remote(flags: dict[str, Any]) -> None:
    with connect(flags) as api:
        names = {int(item["id"]): str(item["name"]) for item in api.list_policies()}
        policy_id = None
        if flags["policy_name"]:
            policy_id = int(api.get_policy(flags["policy_name"])["id"])
        executions, total = api.list_executions(policy_id=policy_id)
        if flags["json_output"]:
            click.echo(json.dumps(executions, indent=2))
            return
        shown = f"the newest {len(executions)} of " if len(executions) < total else ""
        title = f"{shown}{total} execution(s) on ferry at {api.url}"
        console = stdout_console()
        console.print(title)
        console.print(executions_table(executions, names))


def show_remote(flags: dict[str, Any]) -> None:
    with connect(flags) as api:
        execution = api.get_execution(flags["execution_id"])
        tasks = api.list_tasks(int(execution["id"]))
        if flags["json_output"]:
            click.echo(report_json(execution, tasks))
            return
        print_report(
            stdout_console(),
            execution,
            tasks,
            log_command=lambda task: f"ferry logs {execution['id']} {task['id']}",
        )


def log_remote(flags: dict[str, Any], ids: tuple[int, ...]) -> None:
    from ferry.cli.replicate_commands import print_task_log

    if len(ids) != 2:
        raise InvalidInput(
            "on a server a task is named with its execution",
            hint="ferry executions log EXECUTION TASK (or: ferry logs EXECUTION [TASK])",
        )
    with connect(flags) as api:
        print_task_log(api, ids[0], ids[1], follow=flags["follow"])


def stop_remote(flags: dict[str, Any]) -> None:
    with connect(flags) as api:
        api.stop_execution(flags["execution_id"])
        execution = api.get_execution(flags["execution_id"])
        stderr_console().print(
            f"execution {execution['id']}: stop requested; {execution['in_progress']} task(s) still finishing"
        )


def retry_remote(flags: dict[str, Any]) -> None:
    from ferry.cli.follow import watch

    with connect(flags) as api:
        execution_id = api.retry_execution(flags["execution_id"])
        execution = api.get_execution(execution_id)
        stderr_console().print(
            f"execution {execution_id}: re-running {execution['total']} task(s) on {api.url}"
        )
        watch(api, execution_id, json_output=False)
