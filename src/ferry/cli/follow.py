"""Following an execution on a server until it ends: live progress (tasks done, bytes and rate) on a
terminal, a line per change elsewhere; Ctrl-C stops the execution on the server and waits for it to
end, a second Ctrl-C leaves it.
"""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from ferry.cli.executions_render import print_report, report_json
from ferry.cli.units import format_bytes
from ferry.remote.api import FINAL_STATUSES, FerryApi, Json
from ferry.replication.domain.status import SKIPPED_ACTIVE_TEXT

POLL_SECONDS = 0.5
BYTES_POLL_SECONDS = 1.0


class _Counts(ProgressColumn):
    """``3/10 tasks (1 failed)`` for the tasks row; bytes uploaded and the rate for the bytes row."""

    def render(self, task: Task) -> Text:
        if task.fields.get("transfer"):
            rate = f"  {format_bytes(task.speed)}/s" if task.speed else ""
            return Text(f"{format_bytes(task.completed)}{rate}")
        total = "?" if task.total is None else str(int(task.total))
        failed = task.fields.get("failed", 0)
        return Text(f"{int(task.completed)}/{total}" + (f" ({failed} failed)" if failed else ""))


class _Display:
    """Bars on a terminal; elsewhere a line whenever the counts change."""

    def __init__(self, api: FerryApi, console: Console) -> None:
        self._api = api
        self._console = console
        self._progress: Progress | None = None
        if console.is_terminal:
            self._progress = Progress(
                TextColumn("[bold]{task.description:<5}"),
                BarColumn(),
                _Counts(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self._tasks = self._progress.add_task("tasks", total=None)
            self._bytes = self._progress.add_task("bytes", total=None, transfer=True)
        self._last: tuple[int, ...] | None = None
        self._uploaded = 0
        self._bytes_due = 0.0

    def __enter__(self) -> _Display:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def print(self, text: str) -> None:
        self._console.print(text)

    def show(self, execution: Json) -> None:
        done = int(execution["succeed"]) + int(execution["failed"]) + int(execution["stopped"])
        if self._progress is None:
            now = (done, int(execution["total"]), int(execution["failed"]))
            if now != self._last and execution["total"]:
                self._last = now
                self._console.print(_line(execution, done, self._bytes_so_far(execution)))
            return
        if execution["total"] and time.monotonic() >= self._bytes_due:
            self._uploaded = self._bytes_so_far(execution)
            self._bytes_due = time.monotonic() + BYTES_POLL_SECONDS
        total = int(execution["total"]) or None
        self._progress.update(self._tasks, completed=done, total=total, failed=execution["failed"])
        self._progress.update(self._bytes, completed=self._uploaded)

    def _bytes_so_far(self, execution: Json) -> int:
        """A running execution's own ``bytes_copied`` is summed from its tasks only when it ends,
        so while it runs the tasks' counts (saved each second) are added up here."""
        tasks = self._api.list_tasks(int(execution["id"]))
        running = sum(int(task.get("bytes_copied") or 0) for task in tasks)
        return max(self._uploaded, int(execution.get("bytes_copied") or 0), running)


def follow_execution(api: FerryApi, execution_id: int, console: Console) -> Json:
    """Poll the execution until its status is final and return it."""
    stopping = False
    with _Display(api, console) as display:
        while True:
            try:
                execution = api.get_execution(execution_id)
                if execution["status"] in FINAL_STATUSES:
                    return execution
                display.show(execution)
                time.sleep(POLL_SECONDS)
            except KeyboardInterrupt:
                if stopping:
                    display.print(
                        f"left execution {execution_id} stopping on the server; "
                        f"see `ferry executions show {execution_id}`"
                    )
                    sys.exit(130)
                stopping = True
                display.print(
                    f"stopping execution {execution_id} on the server; waiting for it to end "
                    "(Ctrl-C again to leave it)"
                )
                api.stop_execution(execution_id)


def _line(execution: Json, done: int, uploaded: int) -> str:
    return (
        f"  tasks: {done}/{execution['total']} done ({execution['succeed']} succeeded, "
        f"{execution['failed']} failed, {execution['stopped']} stopped), {format_bytes(uploaded)} uploaded"
    )


def finish(api: FerryApi, execution: Json, *, json_output: bool, policy: str | None = None) -> None:
    """Print the tasks and the outcome; exit 1 unless the execution succeeded."""
    execution_id = int(execution["id"])
    tasks = api.list_tasks(execution_id)
    if json_output:
        print(report_json(execution, tasks))
    elif execution["status"] == "Failed" and execution.get("status_text") == SKIPPED_ACTIVE_TEXT:
        err = Console(stderr=True, highlight=False)
        err.print(
            f"[yellow]skipped:[/] {escape(SKIPPED_ACTIVE_TEXT)} The policy"
            + (f" {escape(policy)}" if policy else "")
            + " runs one execution at a time (single_active_replication); "
            "see the running one with `ferry executions list`"
        )
    else:
        print_report(
            Console(highlight=False),
            execution,
            tasks,
            log_command=lambda task: f"ferry logs {execution_id} {task['id']}",
        )
    if execution["status"] != "Succeed":
        sys.exit(1)


def watch(api: FerryApi, execution_id: int, *, json_output: bool, policy: str | None = None) -> None:
    """Follow, then finish: what `ferry replicate` and `ferry executions retry` do after starting."""
    execution = follow_execution(api, execution_id, Console(stderr=True, highlight=False))
    finish(api, execution, json_output=json_output, policy=policy)
