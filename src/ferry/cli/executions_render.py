"""Executions and tasks as tables, from the JSON Harbor's API shows (``ferry.api.views`` makes the
same shape from the local database), so the local and the server commands print alike."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ferry.cli.units import format_bytes

Json = Mapping[str, Any]
STATUS_STYLES = {
    "Succeed": "green",
    "Failed": "red",
    "Stopped": "yellow",
    "InProgress": "cyan",
    "Pending": "dim",
}


def styled_status(status: str) -> str:
    return f"[{STATUS_STYLES.get(status, 'white')}]{escape(status)}[/]"


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def short_time(text: str | None) -> str:
    """``2026-11-28 04:31:35`` (UTC) from Harbor's RFC 3339 time."""
    moment = _time(text)
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def duration(item: Json) -> str:
    start, end = _time(item.get("start_time")), _time(item.get("end_time"))
    if start is None or end is None:
        return "running"
    return f"{(end - start).total_seconds():.1f} s"


def executions_table(executions: Sequence[Json], policy_names: Mapping[int, str]) -> Table:
    table = Table()
    for column in (
        "id",
        "policy",
        "status",
        "trigger",
        "tasks",
        "succeeded",
        "failed",
        "started",
        "duration",
    ):
        table.add_column(column)
    for item in executions:
        table.add_row(
            str(item["id"]),
            escape(policy_names.get(int(item["policy_id"]), f"#{item['policy_id']}")),
            styled_status(str(item["status"])),
            str(item["trigger"]),
            str(item["total"]),
            str(item["succeed"]),
            str(item["failed"]),
            short_time(item.get("start_time")),
            duration(item),
        )
    return table


def tasks_table(execution_id: int, tasks: Sequence[Json]) -> Table:
    table = Table(title=f"execution {execution_id}", title_justify="left")
    for column in (
        "task",
        "status",
        "source",
        "destination",
        "copied",
        "up to date",
        "skipped",
        "failed",
        "note",
    ):
        table.add_column(column)
    for task in tasks:
        table.add_row(
            str(task["id"]),
            styled_status(str(task["status"])),
            escape(str(task["src_resource"])),
            escape(str(task["dst_resource"])),
            str(task.get("copied", "")),
            str(task.get("up_to_date", "")),
            str(task.get("skipped_exists", "")),
            str(task.get("items_failed", "")),
            escape(str(task.get("status_text") or "")[:120]),
        )
    return table


def report_json(execution: Json, tasks: Sequence[Json]) -> str:
    return json.dumps({**execution, "tasks": list(tasks)}, indent=2)


def print_report(
    console: Console, execution: Json, tasks: Sequence[Json], *, log_command: Callable[[Json], str]
) -> None:
    """The tasks, one line on the execution, and how to read a failed task's log."""
    if tasks:
        console.print(tasks_table(int(execution["id"]), tasks))
    text = f" — {escape(str(execution['status_text']))}" if execution.get("status_text") else ""
    console.print(
        f"execution {execution['id']}: {styled_status(str(execution['status']))}{text}; "
        f"{execution['total']} task(s), {format_bytes(int(execution.get('bytes_copied') or 0))} uploaded"
    )
    failed = [task for task in tasks if task["status"] == "Failed"]
    if failed:
        console.print(f"see a failed task's log with: {escape(log_command(failed[0]))}")
