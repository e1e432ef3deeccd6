"""``ferry replicate`` and ``ferry logs``: run a policy on a server and read its tasks' logs."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from ferry.cli.remote import SERVER_HELP, connect, server_options, stderr_console
from ferry.cli.run import cli_errors

if TYPE_CHECKING:
    from ferry.remote.api import FerryApi

LOG_POLL_SECONDS = 1.0


@click.command("replicate", epilog=SERVER_HELP)
@click.argument("policy", metavar="POLICY")
@click.option("--no-follow", is_flag=True, help="Start the execution and return at once.")
@click.option(
    "--json", "json_output", is_flag=True, help="Print the finished execution and its tasks as JSON."
)
@server_options
def replicate(policy: str, no_follow: bool, json_output: bool, **flags: Any) -> None:
    """Run the replication policy POLICY (name or id) on the server and follow it to the end.

    \b
    Shows the tasks done and the bytes uploaded while it runs, then a table of the tasks.
    Ctrl-C stops the execution on the server (running copies end within seconds, nothing
    half-copied is tagged) and waits for it to end; a second Ctrl-C leaves it stopping.

    \b
    Examples:
      ferry replicate prod-to-aliyun
      ferry replicate 3 --no-follow          # start it; watch later with `ferry executions show`
      ferry logs 12 57                        # the log of task 57 of execution 12

    Exit status: 0 when the execution succeeded, 1 otherwise.
    """
    from rich.markup import escape

    from ferry.cli.follow import watch

    with cli_errors(), connect(flags) as api:
        found = api.get_policy(policy)
        execution_id = api.start_execution(int(found["id"]))
        if not json_output:
            stderr_console().print(
                f"policy [bold]{escape(str(found['name']))}[/]: started execution {execution_id} on {api.url}"
            )
        if no_follow:
            if json_output:
                click.echo(json.dumps(api.get_execution(execution_id), indent=2))
            else:
                click.echo(
                    f"follow it with: ferry executions show {execution_id}, or ferry logs {execution_id} -f"
                )
            return
        watch(api, execution_id, json_output=json_output, policy=str(found["name"]))


@click.command("logs", epilog=SERVER_HELP)
@click.argument("execution_id", metavar="EXECUTION", type=int)
@click.argument("task_id", metavar="[TASK]", type=int, required=False)
@click.option(
    "-f", "--follow", is_flag=True, help="Keep printing new lines until the task (or every task) ends."
)
@server_options
def logs(execution_id: int, task_id: int | None, follow: bool, **flags: Any) -> None:
    """Print the log of task TASK of execution EXECUTION, or of every task of it in order.

    \b
    Examples:
      ferry logs 12            # every task's log, each after a header naming its repository
      ferry logs 12 57         # one task
      ferry logs 12 57 -f      # follow it while it runs
    """
    with cli_errors(), connect(flags) as api:
        try:
            if task_id is not None:
                print_task_log(api, execution_id, task_id, follow=follow)
                return
            for task in _all_tasks(api, execution_id, follow=follow):
                click.echo(
                    f"==> task {task['id']}: {task['src_resource']} → {task['dst_resource']} "
                    f"({task['status']}) <=="
                )
                print_task_log(api, execution_id, int(task["id"]), follow=follow)
        except KeyboardInterrupt:
            sys.exit(130)


def _all_tasks(api: FerryApi, execution_id: int, *, follow: bool) -> list[dict[str, Any]]:
    """The execution's tasks; when following an execution still planning, once it has them."""
    from ferry.remote.api import FINAL_STATUSES

    while True:
        tasks = api.list_tasks(execution_id)
        if tasks or not follow or api.get_execution(execution_id)["status"] in FINAL_STATUSES:
            if not tasks:
                stderr_console().print(f"execution {execution_id} has no tasks")
            return tasks
        time.sleep(LOG_POLL_SECONDS)


def print_task_log(api: FerryApi, execution_id: int, task_id: int, *, follow: bool) -> None:
    from ferry.remote.api import FINAL_STATUSES

    text, cursor = api.task_log(execution_id, task_id)
    _write(text)
    while follow:
        finished = api.get_task(execution_id, task_id)["status"] in FINAL_STATUSES
        text, cursor = api.task_log(execution_id, task_id, after=cursor)
        _write(text)
        if finished:
            return
        time.sleep(LOG_POLL_SECONDS)


def _write(text: str) -> None:
    if text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
