"""A task's log (Harbor's LOGS link in the task list): a page that shows it, the lines after a
cursor for the page's script to follow a running task, and the log as plain text to download.

The cursor is the id of the last line read (``TaskStore.read_log(after=...)``), the API's
``X-Log-Cursor``. The task's status is read before its lines: a task that was already final then
has all its lines, so the script may stop asking once it is told the task is final.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from ferry.replication.domain.execution import Task
from ferry.replication.domain.status import TaskStatus
from ferry.store.tasks import format_log
from ferry.web.routes.executions import execution_path
from ferry.web.templating import render_page
from ferry.web.visit import SignedInVisit, Visit

router = APIRouter()

TASK_PATH = "/ui/executions/{execution_id}/tasks/{task_id}"
MAX_CURSOR = 2**63 - 1

LogLine = tuple[int, datetime, str]


def log_path(execution_id: int, task_id: int) -> str:
    return f"{execution_path(execution_id)}/tasks/{task_id}/log"


@router.get(TASK_PATH + "/log")
async def task_log(visit: SignedInVisit, execution_id: int, task_id: int) -> Response:
    task = await visit.services.store.tasks.get(task_id, execution_id=execution_id)
    lines = await visit.services.store.tasks.read_log(task_id)
    context = {
        "title": visit.gettext("Log of task %(id)s", id=task_id),
        "nav": "executions",
        "task": task,
        "lines": [_text(line) for line in lines],
        "cursor": _cursor(lines, 0),
        "path": log_path(execution_id, task_id),
    }
    return render_page(visit, "executions/log.html", context)


@router.get(TASK_PATH + "/log/follow")
async def follow_task_log(
    visit: SignedInVisit,
    execution_id: int,
    task_id: int,
    after: Annotated[int, Query(ge=0, le=MAX_CURSOR)] = 0,
) -> Response:
    """The lines after ``after``: ``{"lines": [...], "cursor": n, "final": bool, "status": "Succeed",
    "badge": "healthy"}`` (the status in the page's language, and its badge's kind)."""
    task = await visit.services.store.tasks.get(task_id, execution_id=execution_id)
    lines = await visit.services.store.tasks.read_log(task_id, after=after)
    body = {
        "lines": [_text(line) for line in lines],
        "cursor": _cursor(lines, after),
        "final": task.status.is_final,
        **_status(visit, task),
    }
    return visit.finish(JSONResponse(body))


@router.get(TASK_PATH + "/log.txt")
async def task_log_text(visit: SignedInVisit, execution_id: int, task_id: int) -> Response:
    """The whole log as the API gives it, for the signed-in session (the API needs Basic auth)."""
    await visit.services.store.tasks.get(task_id, execution_id=execution_id)
    lines = await visit.services.store.tasks.read_log(task_id)
    response = PlainTextResponse(
        format_log(lines),
        headers={"Content-Disposition": f'attachment; filename="ferry-task-{task_id}.log"'},
    )
    return visit.finish(response)


def _text(line: LogLine) -> str:
    return format_log([line]).rstrip("\n")


def _cursor(lines: list[LogLine], after: int) -> int:
    return lines[-1][0] if lines else after


def _status(visit: Visit, task: Task) -> dict[str, str]:
    status = task.api_status
    labels = {
        TaskStatus.PENDING: visit.gettext("Pending"),
        TaskStatus.IN_PROGRESS: visit.gettext("In Progress"),
        TaskStatus.SUCCEED: visit.gettext("Succeed"),
        TaskStatus.FAILED: visit.gettext("Failed"),
        TaskStatus.STOPPED: visit.gettext("Stopped"),
    }
    return {"status": labels[status], "badge": _BADGES.get(status, "unknown")}


_BADGES = {TaskStatus.IN_PROGRESS: "running", TaskStatus.SUCCEED: "healthy", TaskStatus.FAILED: "unhealthy"}
"""As the templates' ``task_status`` macro colours them."""
