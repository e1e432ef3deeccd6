"""Executions (Harbor's 任务): every run of every rule, newest first; one run with its counts, live
progress, STOP, RETRY and its tasks.

The detail page works without JavaScript (reload it to see the progress); with it, the page asks
``/ui/executions/{id}/live`` for its changing parts every second and stops once the run is over.
STOP asks first: the script with a dialog, without it a page (the form comes back without
``confirm=yes``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from ferry.errors import PreconditionFailed, RecordNotFound
from ferry.replication.domain.execution import Execution
from ferry.replication.domain.status import ExecutionStatus, job_statuses
from ferry.store.executions import ExecutionQuery
from ferry.store.tasks import TaskQuery
from ferry.web.execution_view import (
    PAGE_SIZE,
    TASK_PAGE_SIZE,
    ExecutionView,
    Pages,
    has_deletions,
    page_number,
    parse_id,
)
from ferry.web.forms import text
from ferry.web.sessions import FlashKind
from ferry.web.templating import render_fragment, render_page
from ferry.web.visit import SignedInForm, SignedInVisit, Visit, safe_next

router = APIRouter()

LIST_PATH = "/ui/executions"


def execution_path(execution_id: int) -> str:
    return f"{LIST_PATH}/{execution_id}"


@router.get(LIST_PATH)
async def list_executions(
    visit: SignedInVisit, rule: str | None = None, status: str | None = None, page: str | None = None
) -> Response:
    store = visit.services.store
    policies = await store.policies.list_policies()
    rule_id = parse_id(rule)
    chosen_status = status if status in set(ExecutionStatus) else None
    query = ExecutionQuery(
        policy_id=rule_id,
        statuses=None if chosen_status is None else job_statuses(ExecutionStatus(chosen_status)),
        limit=PAGE_SIZE,
    )
    number = page_number(page)
    executions, total = await store.executions.list_executions(_page(query, number))
    pages = Pages.of(number, size=PAGE_SIZE, total=total)
    if pages.number != number:
        executions, total = await store.executions.list_executions(_page(query, pages.number))
    context = {
        "title": visit.gettext("Executions"),
        "nav": "executions",
        "executions": executions,
        "policy_names": {policy.id: policy.name for policy in policies},
        "policies": policies,
        "rule_id": rule_id,
        "status": chosen_status,
        "statuses": list(ExecutionStatus),
        "pages": pages,
        "filters": {"rule": rule_id or "", "status": chosen_status or ""},
        "now": visit.services.clock(),
    }
    return render_page(visit, "executions/list.html", context)


def _page(query: ExecutionQuery, number: int) -> ExecutionQuery:
    return ExecutionQuery(
        policy_id=query.policy_id,
        statuses=query.statuses,
        offset=(number - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )


@router.get(LIST_PATH + "/{execution_id}")
async def execution_detail(visit: SignedInVisit, execution_id: int, page: str | None = None) -> Response:
    context = await _detail(visit, execution_id, page)
    title = visit.gettext("Execution %(id)s", id=execution_id)
    return render_page(visit, "executions/detail.html", {"title": title, "nav": "executions", **context})


@router.get(LIST_PATH + "/{execution_id}/live")
async def execution_live(visit: SignedInVisit, execution_id: int, page: str | None = None) -> Response:
    """The detail page's changing parts, for its live refresh."""
    return render_fragment(visit, "executions/_live.html", await _detail(visit, execution_id, page))


async def _detail(visit: Visit, execution_id: int, page: str | None) -> dict[str, Any]:
    store = visit.services.store
    execution = await store.executions.get(execution_id)
    number = page_number(page)
    tasks, total = await store.tasks.list_tasks(_task_page(execution_id, number))
    pages = Pages.of(number, size=TASK_PAGE_SIZE, total=total)
    if pages.number != number:
        tasks, total = await store.tasks.list_tasks(_task_page(execution_id, pages.number))
    return {
        "view": ExecutionView(execution, await _rule_name(visit, execution), visit.services.clock()),
        "tasks": tasks,
        "task_pages": pages,
        "deletions": has_deletions(tasks),
        "live_url": f"{execution_path(execution_id)}/live" + _page_query(pages),
    }


def _page_query(pages: Pages) -> str:
    return f"?page={pages.number}" if pages.number > 1 else ""


def _task_page(execution_id: int, number: int) -> TaskQuery:
    return TaskQuery(execution_id, offset=(number - 1) * TASK_PAGE_SIZE, limit=TASK_PAGE_SIZE)


async def _rule_name(visit: Visit, execution: Execution) -> str | None:
    try:
        return (await visit.services.store.policies.get(execution.policy_id)).name
    except RecordNotFound:
        return None


@router.post(LIST_PATH + "/{execution_id}/stop")
async def stop_execution(visit: SignedInVisit, form: SignedInForm, execution_id: int) -> Response:
    """STOP. Without ``confirm=yes`` (no script to ask), a page that asks first. ``next`` is where
    to go afterwards (the Replications page stops runs from its table too)."""
    back = safe_next(text(form, "next"), execution_path(execution_id))
    execution = await visit.services.store.executions.get(execution_id)
    if text(form, "confirm") != "yes":
        context = {
            "title": visit.gettext("Confirm Stop"),
            "nav": "executions",
            "execution": execution,
            "back": back,
        }
        return render_page(visit, "executions/stop.html", context)
    if execution.is_finished:
        visit.flash(FlashKind.ERROR, visit.gettext("Execution %(id)s has already ended.", id=execution_id))
        return visit.redirect(back)
    stopped = await visit.services.service.stop_execution(execution_id)
    if stopped.is_finished:
        message = visit.gettext("Execution %(id)s stopped.", id=execution_id)
    else:
        message = visit.gettext(
            "Execution %(id)s is stopping: its running tasks are being cancelled.", id=execution_id
        )
    visit.flash(FlashKind.SUCCESS, message)
    return visit.redirect(back)


@router.post(LIST_PATH + "/{execution_id}/retry")
async def retry_execution(visit: SignedInVisit, form: SignedInForm, execution_id: int) -> Response:
    """RETRY: a new execution of the failed and stopped tasks; its page comes next."""
    try:
        again = await visit.services.service.retry_execution(execution_id)
    except PreconditionFailed as exc:
        intro = visit.gettext("The tasks cannot be run again:")
        visit.flash(FlashKind.ERROR, f"{intro} {exc}")
        return visit.redirect(execution_path(execution_id))
    visit.flash(
        FlashKind.SUCCESS,
        visit.gettext(
            "Execution %(id)s runs the failed and stopped tasks of execution %(old)s again.",
            id=again.id,
            old=execution_id,
        ),
    )
    return visit.redirect(execution_path(again.id))
