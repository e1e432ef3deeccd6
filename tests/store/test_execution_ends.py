"""Every way an execution ends is announced once, after the commit, with its final status and
duration (what the metrics' execution histogram observes); and the counts by status."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ferry.replication.domain.policy import Policy
from ferry.replication.domain.status import ExecutionStatus, JobStatus, TaskStatus, TriggerType
from ferry.replication.engine.progress import ImageOutcome
from ferry.store import Store
from ferry.store.ended import ExecutionEnded
from ferry.store.executions import Activity
from tests.store.conftest import NOW
from tests.store.test_executions_and_tasks import LEASE, a_stored_policy, new_task, planned

LATER = NOW + timedelta(seconds=42)


@pytest.fixture
def ended(store: Store) -> list[ExecutionEnded]:
    heard: list[ExecutionEnded] = []
    store.execution_ends.subscribe(heard.append)
    return heard


async def test_the_last_task_to_end_announces_the_execution_once(
    store: Store, ended: list[ExecutionEnded]
) -> None:
    policy = await a_stored_policy(store)
    execution = await planned(store, policy, new_task("library/a", "v1"), new_task("library/b", "v1"))
    first, second = await store.tasks.claim("w", lease_until=LEASE, now=NOW, limit=2)
    copied = {"v1": ImageOutcome.COPIED}
    await store.tasks.finish(first.id, "w", JobStatus.SUCCESS, now=NOW, results=copied, bytes_copied=1)
    assert ended == []
    failed = {"v1": ImageOutcome.FAILED}
    await store.tasks.finish(second.id, "w", JobStatus.ERROR, now=LATER, results=failed, bytes_copied=0)
    assert [(item.id, item.status, item.trigger) for item in ended] == [
        (execution.id, ExecutionStatus.FAILED, TriggerType.MANUAL)
    ]
    assert ended[0].seconds == 42
    # a late, refused finish (the task is no longer this worker's) announces nothing more
    await store.tasks.finish(second.id, "w", JobStatus.SUCCESS, now=LATER, results=copied, bytes_copied=0)
    assert len(ended) == 1


async def test_an_empty_plan_a_failed_plan_and_a_skipped_start_are_announced(
    store: Store, ended: list[ExecutionEnded]
) -> None:
    policy = await a_stored_policy(store, single_active=True)
    empty = await planned(store, policy)
    failing = await store.executions.start(policy, TriggerType.SCHEDULED, now=NOW)
    skipped = await store.executions.start(policy, TriggerType.EVENT_BASED, now=NOW)
    await store.executions.claim_planning("planner", lease_until=LEASE, now=NOW, limit=1)
    await store.executions.fail_planning(failing.id, "planner", "planning failed: boom", now=LATER)
    assert [(item.id, item.status, item.trigger) for item in ended] == [
        (empty.id, ExecutionStatus.SUCCEED, TriggerType.MANUAL),
        (skipped.id, ExecutionStatus.FAILED, TriggerType.EVENT_BASED),
        (failing.id, ExecutionStatus.FAILED, TriggerType.SCHEDULED),
    ]


async def test_a_stop_with_nothing_running_is_announced_stopped(
    store: Store, ended: list[ExecutionEnded]
) -> None:
    policy = await a_stored_policy(store)
    execution = await planned(store, policy, new_task("library/a", "v1"))
    await store.executions.request_stop(execution.id, now=LATER)
    await store.executions.request_stop(execution.id, now=LATER)
    assert [(item.id, item.status) for item in ended] == [(execution.id, ExecutionStatus.STOPPED)]


async def test_the_reaper_announces_what_it_ends(store: Store, ended: list[ExecutionEnded]) -> None:
    policy = await a_stored_policy(store)
    execution = await planned(store, policy, new_task("library/a", "v1"))
    await store.tasks.claim("dead-worker", lease_until=LEASE, now=NOW, limit=1)
    await store.executions.request_stop(execution.id, now=NOW)
    assert ended == []  # its task still runs somewhere
    await store.tasks.reap(now=NOW, dead_owners=["dead-worker"])
    assert [(item.id, item.status) for item in ended] == [(execution.id, ExecutionStatus.STOPPED)]


async def test_counts_by_status_use_the_api_words_and_name_every_status(store: Store) -> None:
    assert await store.executions.count_by_status() == dict.fromkeys(ExecutionStatus, 0)
    assert await store.tasks.count_by_status() == dict.fromkeys(TaskStatus, 0)
    policy: Policy = await a_stored_policy(store)
    await planned(store, policy, new_task("library/a", "v1"), new_task("library/b", "v1"))
    await store.tasks.claim("w", lease_until=LEASE, now=NOW, limit=1)
    await planned(store, policy)
    executions = await store.executions.count_by_status()
    assert executions == {
        **dict.fromkeys(ExecutionStatus, 0),
        ExecutionStatus.IN_PROGRESS: 1,
        ExecutionStatus.SUCCEED: 1,
    }
    tasks = await store.tasks.count_by_status()
    assert tasks == {**dict.fromkeys(TaskStatus, 0), TaskStatus.IN_PROGRESS: 1, TaskStatus.PENDING: 1}


async def test_activity_counts_the_executions_started_since_their_failures_and_bytes(store: Store) -> None:
    policy = await a_stored_policy(store)
    assert await store.executions.activity_since(NOW - timedelta(hours=24)) == Activity()
    execution = await planned(store, policy, new_task("library/a", "v1"), new_task("library/b", "v1"))
    first, second = await store.tasks.claim("w", lease_until=LEASE, now=NOW, limit=2)
    copied, failed = {"v1": ImageOutcome.COPIED}, {"v1": ImageOutcome.FAILED}
    await store.tasks.finish(first.id, "w", JobStatus.SUCCESS, now=NOW, results=copied, bytes_copied=1000)
    await store.tasks.finish(second.id, "w", JobStatus.ERROR, now=NOW, results=failed, bytes_copied=24)
    assert (await store.executions.get(execution.id)).api_status is ExecutionStatus.FAILED
    await store.executions.start(policy, TriggerType.MANUAL, now=NOW - timedelta(days=2))

    assert await store.executions.activity_since(NOW - timedelta(hours=24)) == Activity(
        executions=1, failed=1, bytes_copied=1024
    )
    assert await store.executions.activity_since(NOW - timedelta(days=3)) == Activity(
        executions=2, failed=1, bytes_copied=1024
    )
