"""The task queue's side of the store on PostgreSQL: migration 0007's triggers put every runnable
task and waiting planning into procrastinate's table in the same transaction, once; claims by id
respect a per-registry limit; lost jobs are queued again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from ferry.replication.domain.status import JobStatus, TriggerType
from ferry.store import Store
from ferry.store.tasks import RegistryBusy, TaskQuery
from tests.store.conftest import NOW
from tests.store.test_executions_and_tasks import LEASE, a_stored_policy, new_task, planned


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url


async def jobs(store: Store) -> list[tuple[Any, ...]]:
    async with store.database.session() as session:
        rows = await session.execute(
            text(
                "SELECT task_name, queueing_lock, status, args, scheduled_at FROM procrastinate_jobs "
                "WHERE status = 'todo' ORDER BY id"
            )
        )
        return [tuple(row) for row in rows]


async def test_a_started_execution_waits_as_one_planning_job(store: Store) -> None:
    policy = await a_stored_policy(store)
    execution = await store.executions.start(policy, TriggerType.MANUAL, now=NOW)

    assert [(name, lock, args) for name, lock, _, args, _ in await jobs(store)] == [
        ("ferry.plan_execution", f"ferry-plan-{execution.id}", {"execution_id": execution.id})
    ]


async def test_planned_tasks_become_jobs_in_the_same_transaction_once_each(store: Store) -> None:
    policy = await a_stored_policy(store)
    execution = await planned(store, policy, new_task("library/a", "v1"), new_task("library/b", "v1"))
    tasks, _ = await store.tasks.list_tasks(TaskQuery(execution.id))

    task_jobs = [(name, lock) for name, lock, *_ in await jobs(store) if name == "ferry.run_task"]
    assert task_jobs == [("ferry.run_task", f"ferry-task-{task.id}") for task in tasks]


async def test_a_claimed_task_leaves_the_queue_and_a_retry_returns_at_its_time(store: Store) -> None:
    policy = await a_stored_policy(store)
    await planned(store, policy, new_task("library/a", "v1"))
    [task] = await store.tasks.claim("w", lease_until=LEASE, now=NOW, limit=1)
    assert [row for row in await jobs(store) if row[0] == "ferry.run_task"] == []

    later = NOW + timedelta(seconds=8)
    await store.tasks.retry_later(
        task.id, "w", not_before=later, now=NOW, results={}, bytes_copied=0, status_text="attempt 1"
    )

    [(name, lock, _, _, scheduled)] = [row for row in await jobs(store) if row[0] == "ferry.run_task"]
    assert (name, lock, scheduled) == ("ferry.run_task", f"ferry-task-{task.id}", later)


async def test_a_stopped_execution_takes_its_waiting_jobs_out_of_the_queue(store: Store) -> None:
    policy = await a_stored_policy(store)
    execution = await planned(store, policy, new_task("library/a", "v1"), new_task("library/b", "v1"))
    await store.executions.request_stop(execution.id, now=NOW)

    assert [row for row in await jobs(store) if row[0] == "ferry.run_task"] == []


async def test_claims_by_id_respect_the_registry_limit_across_processes(store: Store) -> None:
    policy = await a_stored_policy(store)
    execution = await planned(store, policy, *(new_task(f"library/{name}", "v1") for name in "abc"))
    tasks, _ = await store.tasks.list_tasks(TaskQuery(execution.id))
    first, second, third = (task.id for task in tasks)

    one = await store.tasks.claim_within_limit(first, "w1", lease_until=LEASE, now=NOW, registry_limit=2)
    two = await store.tasks.claim_within_limit(second, "w2", lease_until=LEASE, now=NOW, registry_limit=2)
    busy = await store.tasks.claim_within_limit(third, "w3", lease_until=LEASE, now=NOW, registry_limit=2)
    again = await store.tasks.claim_within_limit(first, "w3", lease_until=LEASE, now=NOW, registry_limit=9)

    assert not isinstance(one, RegistryBusy)
    assert one is not None
    assert one.status is JobStatus.RUNNING
    assert not isinstance(two, RegistryBusy)
    assert two is not None
    assert busy == RegistryBusy(policy.dest_registry_id, 2)
    assert again is None, "a task runs once"


async def test_waiting_work_whose_job_was_lost_is_queued_again(store: Store) -> None:
    policy = await a_stored_policy(store)
    await planned(store, policy, new_task("library/a", "v1"))
    async with store.database.session() as session:
        await session.execute(text("DELETE FROM procrastinate_jobs"))
        await session.commit()

    assert await store.tasks.requeue_orphans() == 1
    assert [row[0] for row in await jobs(store)] == ["ferry.run_task"]
    assert await store.tasks.requeue_orphans() == 0
