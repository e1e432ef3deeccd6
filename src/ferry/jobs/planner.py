"""Planning an execution: list the policy's source and turn the plan into tasks."""

from __future__ import annotations

from dataclasses import dataclass

from ferry.jobs.clients import client_for_registry
from ferry.replication.domain.execution import NewTask
from ferry.replication.domain.plan import explain_empty_name_filter, plan_policy
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.registry import Registry
from ferry.replication.listing import list_source


@dataclass(frozen=True)
class ExecutionPlan:
    tasks: list[NewTask]
    note: str = ""
    """Why nothing is planned, when a name filter is the likely cause."""


async def plan_execution(policy: Policy, source: Registry, destination: Registry) -> ExecutionPlan:
    async with client_for_registry(source) as client:
        listing = await list_source(client, policy)
    planned = plan_policy(policy, listing.repositories, destination_type=destination.type)
    tasks = [
        NewTask(
            operation=task.operation,
            source_repository=task.source,
            destination_repository=task.destination,
            artifacts=task.artifacts,
        )
        for task in planned
    ]
    note = "" if tasks else (explain_empty_name_filter(policy, listing.all_names) or "")
    return ExecutionPlan(tasks, note)
