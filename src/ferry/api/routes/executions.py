"""``/replication/executions``: runs of a rule, their tasks and the tasks' logs; start and stop."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from ferry.api.context import Context, SignedIn
from ferry.api.listing import Page, PageSize, QText, SortText, list_query, page_response
from ferry.api.query import FieldKind
from ferry.api.responses import (
    ReplicationExecution,
    ReplicationTask,
    created,
    done,
    error_responses,
    listed,
)
from ferry.api.schemas import (
    INT64_MAX,
    INT64_MIN,
    Digits,
    IdPath,
    StartExecutionBody,
    StopExecutionBody,
    TaskIdPath,
)
from ferry.api.views import execution_json, task_json
from ferry.replication.domain.fields import enum_member
from ferry.replication.domain.status import ExecutionStatus, TaskStatus, TriggerType, job_statuses
from ferry.store.executions import ExecutionQuery
from ferry.store.tasks import TaskQuery, format_log

router = APIRouter(tags=["replication"])

EXECUTION_FIELDS = {
    "id": FieldKind.INTEGER,
    "policy_id": FieldKind.INTEGER,
    "status": FieldKind.STRING,
    "trigger": FieldKind.STRING,
    "start_time": FieldKind.TIME,
    "end_time": FieldKind.TIME,
}
TASK_FIELDS = {
    "id": FieldKind.INTEGER,
    "status": FieldKind.STRING,
    "operation": FieldKind.STRING,
    "resource_type": FieldKind.STRING,
    "src_resource": FieldKind.STRING,
    "dst_resource": FieldKind.STRING,
    "start_time": FieldKind.TIME,
    "end_time": FieldKind.TIME,
}
_EVERYTHING = 10_000
"""Filtering by ``q`` or sorting happens in memory over at most this many rows; retention keeps
50 executions per rule, so this covers 200 rules."""


@router.get(
    "/replication/executions",
    summary="List executions",
    response_model=list[ReplicationExecution],
    responses={**listed("executions"), **error_responses(400)},
)
async def list_executions(
    request: Request,
    context: Context,
    principal: SignedIn,
    policy_id: Annotated[int | None, Digits, Query(ge=INT64_MIN, le=INT64_MAX)] = None,
    status: str | None = None,
    trigger: str | None = None,
    q: QText = None,
    sort: SortText = None,
    page: Page = None,
    page_size: PageSize = None,
) -> JSONResponse:
    query = list_query(q, sort, page, page_size, EXECUTION_FIELDS)
    stored = ExecutionQuery(
        policy_id=policy_id,
        statuses=job_statuses(enum_member("status", ExecutionStatus, status)) if status else None,
        trigger=enum_member("trigger", TriggerType, trigger) if trigger else None,
    )
    if query.conditions or query.sort:
        executions, _ = await context.store.executions.list_executions(_all(stored))
        return page_response(request, [execution_json(item) for item in executions], query)
    executions, total = await context.store.executions.list_executions(
        _page(stored, query.offset, query.page_size)
    )
    return page_response(request, [execution_json(item) for item in executions], query, total=total)


def _all(query: ExecutionQuery) -> ExecutionQuery:
    return ExecutionQuery(query.policy_id, query.statuses, query.trigger, offset=0, limit=_EVERYTHING)


def _page(query: ExecutionQuery, offset: int, limit: int) -> ExecutionQuery:
    return ExecutionQuery(query.policy_id, query.statuses, query.trigger, offset=offset, limit=limit)


@router.post(
    "/replication/executions",
    status_code=201,
    summary="Start an execution of a rule",
    response_class=Response,
    responses={**created("Execution"), **error_responses(400, 404, 412)},
)
async def start_execution(body: StartExecutionBody, context: Context, principal: SignedIn) -> Response:
    policy = await context.store.policies.get(body.policy_id)
    execution = await context.service.start_execution(policy)
    return Response(status_code=201, headers={"Location": f"/api/v2.0/replication/executions/{execution.id}"})


@router.get(
    "/replication/executions/{id}",
    summary="Get an execution",
    response_model=ReplicationExecution,
    responses=error_responses(400, 404),
)
async def get_execution(id: IdPath, context: Context, principal: SignedIn) -> JSONResponse:
    return JSONResponse(execution_json(await context.store.executions.get(id)))


@router.put(
    "/replication/executions/{id}",
    summary="Stop an execution",
    response_class=Response,
    responses={**done("Stopping (or already finished)"), **error_responses(400, 404)},
)
async def stop_execution(
    id: IdPath, context: Context, principal: SignedIn, body: StopExecutionBody | None = None
) -> Response:
    await context.service.stop_execution(id)
    return Response(status_code=200)


@router.post(
    "/replication/executions/{id}/retry",
    status_code=201,
    summary="Run the failed and stopped tasks again (ferry)",
    response_class=Response,
    responses={**created("Execution"), **error_responses(400, 404, 412)},
)
async def retry_execution(id: IdPath, context: Context, principal: SignedIn) -> Response:
    execution = await context.service.retry_execution(id)
    return Response(status_code=201, headers={"Location": f"/api/v2.0/replication/executions/{execution.id}"})


@router.get(
    "/replication/executions/{id}/tasks",
    summary="List an execution's tasks",
    response_model=list[ReplicationTask],
    responses={**listed("tasks"), **error_responses(400, 404)},
)
async def list_tasks(
    request: Request,
    id: IdPath,
    context: Context,
    principal: SignedIn,
    status: str | None = None,
    resource_type: str | None = None,
    q: QText = None,
    sort: SortText = None,
    page: Page = None,
    page_size: PageSize = None,
) -> JSONResponse:
    query = list_query(q, sort, page, page_size, TASK_FIELDS)
    await context.store.executions.get(id)
    statuses = job_statuses(enum_member("status", TaskStatus, status)) if status else None
    if query.conditions or query.sort:
        tasks, _ = await context.store.tasks.list_tasks(
            TaskQuery(id, statuses, resource_type, offset=0, limit=_EVERYTHING)
        )
        return page_response(request, [task_json(task) for task in tasks], query)
    tasks, total = await context.store.tasks.list_tasks(
        TaskQuery(id, statuses, resource_type, offset=query.offset, limit=query.page_size)
    )
    return page_response(request, [task_json(task) for task in tasks], query, total=total)


@router.get(
    "/replication/executions/{id}/tasks/{task_id}/log",
    summary="A task's log as plain text",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "The log lines",
            "headers": {
                "X-Log-Cursor": {
                    "description": "ferry: pass it as `after` to get only newer lines",
                    "schema": {"type": "integer"},
                }
            },
        },
        **error_responses(400, 404),
    },
)
async def get_task_log(
    id: IdPath,
    task_id: TaskIdPath,
    context: Context,
    principal: SignedIn,
    after: Annotated[
        int,
        Digits,
        Query(ge=0, le=INT64_MAX, description="ferry: only lines after this cursor (X-Log-Cursor)"),
    ] = 0,
) -> PlainTextResponse:
    await context.store.tasks.get(task_id, execution_id=id)
    lines = await context.store.tasks.read_log(task_id, after=after)
    cursor = lines[-1][0] if lines else after
    return PlainTextResponse(format_log(lines), headers={"X-Log-Cursor": str(cursor)})
