"""Planning an execution: list the policy's source and turn the plan into tasks.

An event-based execution has a scope: a push lists only the pushed tags of one repository; a
deletion lists nothing (the artifact is gone at the source) and plans one deletion task, whose
destination checks happen when it runs, so a destination that is down delays it rather than
failing the execution."""

from __future__ import annotations

from dataclasses import dataclass

from ferry.distribution.observe import RequestObserver
from ferry.jobs.clients import connect
from ferry.replication.domain.events import EventAction
from ferry.replication.domain.execution import NewTask
from ferry.replication.domain.plan import PlannedTask, explain_empty_name_filter, plan_policy
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.registry import Registry
from ferry.replication.domain.scope import ExecutionScope, plan_deletion
from ferry.replication.listing import list_source, list_tags_of


@dataclass(frozen=True)
class ExecutionPlan:
    tasks: list[NewTask]
    note: str = ""
    """Why nothing is planned, when a name filter is the likely cause."""


async def plan_execution(
    policy: Policy,
    source: Registry,
    destination: Registry,
    *,
    observer: RequestObserver | None = None,
    scope: ExecutionScope | None = None,
) -> ExecutionPlan:
    if scope is not None and scope.action is EventAction.DELETE:
        deletions = plan_deletion(policy, scope, destination_type=destination.type)
        return ExecutionPlan([_new_task(task) for task in deletions], "" if deletions else _dropped(scope))
    async with connect(source, observer=observer) as connection:
        if scope is None:
            listing = await list_source(connection.client, policy, connection.provider)
        else:
            listing = await list_tags_of(connection.client, policy, scope.repository, scope.tags)
    planned = plan_policy(policy, listing.repositories, destination_type=destination.type)
    if scope is not None:
        return ExecutionPlan([_new_task(task) for task in planned], "" if planned else _dropped(scope))
    tasks = [_new_task(task) for task in planned]
    note = "" if tasks else (explain_empty_name_filter(policy, listing.all_names) or "")
    return ExecutionPlan(tasks, note)


def _new_task(task: PlannedTask) -> NewTask:
    return NewTask(
        operation=task.operation,
        source_repository=task.source,
        destination_repository=task.destination,
        artifacts=task.artifacts,
    )


def _dropped(scope: ExecutionScope) -> str:
    if scope.action is EventAction.DELETE:
        return f"the {scope.describe()} is outside the rule's filters"
    return f"the {scope.describe()} is gone from the source or outside the rule's filters"
