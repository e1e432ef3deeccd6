from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from ferry.errors import PreconditionFailed
from ferry.oci.digest import Digest
from ferry.replication.domain.execution import Execution, NewTask, Phase
from ferry.replication.domain.plan import PlannedArtifact
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.status import (
    SKIPPED_ACTIVE_TEXT,
    ExecutionStatus,
    JobStatus,
    Operation,
    TaskStatus,
    TriggerType,
)
from ferry.replication.engine.progress import ImageOutcome
from ferry.store import Store
from ferry.store.executions import ExecutionQuery
from ferry.store.tasks import TaskQuery, format_log
from tests.store.conftest import NOW, a_policy, a_registry

LEASE = NOW + timedelta(seconds=30)
DIGEST = Digest.parse("sha256:" + "a" * 64)


def new_task(repository: str, *tags: str) -> NewTask:
    return NewTask(
        operation=Operation.COPY,
        source_repository=repository,
        destination_repository=f"team/{repository.rsplit('/', 1)[-1]}",
        artifacts=(PlannedArtifact(DIGEST, tags),),
    )


async def a_stored_policy(store: Store, *, single_active: bool = False) -> Policy:
    registry = await store.registries.add(a_registry())
    return await store.policies.add(a_policy(dest=registry.id, single_active=single_active))


async def planned(store: Store, policy: Policy, *tasks: NewTask) -> Execution:
    execution = await store.executions.start(policy, TriggerType.MANUAL, now=NOW)
    claimed = await store.executions.claim_planning("planner", lease_until=LEASE, now=NOW, limit=10)
    assert [item.id for item in claimed] == [execution.id]
    assert await store.executions.finish_planning(execution.id, "planner", tasks, now=NOW)
    return await store.executions.get(execution.id)


async def test_tasks_show_harbors_resource_text_and_pending_status(store: Store) -> None:
    policy = await a_stored_policy(store)
    execution = await planned(store, policy, new_task("library/nginx", "v1", "prod-2"))
    tasks, total = await store.tasks.list_tasks(TaskQuery(execution.id))
    assert total == 1
    assert tasks[0].src_resource == "library/nginx [2 item(s) in total]"
    assert tasks[0].dst_resource == "team/nginx [2 item(s) in total]"
    assert tasks[0].api_status is TaskStatus.PENDING
    assert execution.api_status is ExecutionStatus.IN_PROGRESS
    assert execution.counts.in_progress == 1


async def test_an_execution_without_tasks_succeeds_with_harbors_text(store: Store) -> None:
    policy = await a_stored_policy(store)
    execution = await planned(store, policy)
    assert execution.api_status is ExecutionStatus.SUCCEED
    assert execution.status_text == "no resources need to be replicated"
    assert execution.phase is Phase.FINISHED


async def test_concurrent_claims_never_hand_one_task_to_two_workers(store: Store) -> None:
    policy = await a_stored_policy(store)
    await planned(store, policy, *(new_task(f"library/app{index}", "v1") for index in range(30)))
    claims = await asyncio.gather(
        *(store.tasks.claim(f"worker-{index}", lease_until=LEASE, now=NOW, limit=4) for index in range(10))
    )
    ids = [task.id for claim in claims for task in claim]
    assert len(ids) == len(set(ids)) == 30
    assert all(task.attempts == 1 and task.status is JobStatus.RUNNING for claim in claims for task in claim)


async def test_the_execution_status_is_derived_when_the_last_task_ends(store: Store) -> None:
    policy = await a_stored_policy(store)
    execution = await planned(store, policy, new_task("library/a", "v1"), new_task("library/b", "v1"))
    first, second = await store.tasks.claim("w", lease_until=LEASE, now=NOW, limit=2)
    ok = {"v1": ImageOutcome.COPIED}
    assert await store.tasks.finish(first.id, "w", JobStatus.SUCCESS, now=NOW, results=ok, bytes_copied=10)
    assert (await store.executions.get(execution.id)).api_status is ExecutionStatus.IN_PROGRESS
    failed = {"v1": ImageOutcome.FAILED}
    assert await store.tasks.finish(second.id, "w", JobStatus.ERROR, now=NOW, results=failed, bytes_copied=5)
    done = await store.executions.get(execution.id)
    assert done.api_status is ExecutionStatus.FAILED
    assert (done.counts.total, done.counts.succeed, done.counts.failed) == (2, 1, 1)
    assert done.bytes_copied == 15
    assert done.end_time == NOW


async def test_single_active_replication_is_enforced_by_the_database(store: Store) -> None:
    policy = await a_stored_policy(store, single_active=True)
    started = await asyncio.gather(
        *(store.executions.start(policy, TriggerType.SCHEDULED, now=NOW) for _ in range(6))
    )
    running = [item for item in started if item.phase is Phase.PLANNING]
    skipped = [item for item in started if item.phase is Phase.FINISHED]
    assert len(running) == 1
    assert len(skipped) == 5
    assert all(item.api_status is ExecutionStatus.FAILED for item in skipped)
    assert all(item.status_text == SKIPPED_ACTIVE_TEXT for item in skipped)


async def test_without_single_active_replication_runs_may_overlap(store: Store) -> None:
    policy = await a_stored_policy(store)
    first = await store.executions.start(policy, TriggerType.MANUAL, now=NOW)
    second = await store.executions.start(policy, TriggerType.MANUAL, now=NOW)
    assert first.phase is second.phase is Phase.PLANNING


async def test_stop_ends_pending_tasks_and_tells_the_running_ones(store: Store) -> None:
    policy = await a_stored_policy(store)
    execution = await planned(store, policy, new_task("library/a", "v1"), new_task("library/b", "v1"))
    [running] = await store.tasks.claim("w", lease_until=LEASE, now=NOW, limit=1)
    stopping = await store.executions.request_stop(execution.id, now=NOW)
    assert stopping.api_status is ExecutionStatus.IN_PROGRESS
    assert stopping.counts.stopped == 1
    beat = await store.tasks.heartbeat("w", [running.id], [], lease_until=LEASE)
    assert beat.stop == {running.id}
    await store.tasks.finish(running.id, "w", JobStatus.STOPPED, now=NOW, results={}, bytes_copied=0)
    stopped = await store.executions.get(execution.id)
    assert stopped.api_status is ExecutionStatus.STOPPED
    assert stopped.counts.stopped == 2


async def test_the_reaper_requeues_the_tasks_of_a_dead_worker(store: Store) -> None:
    policy = await a_stored_policy(store)
    await planned(store, policy, new_task("library/a", "v1"), new_task("library/b", "v1"))
    [expired] = await store.tasks.claim("gone", lease_until=NOW + timedelta(seconds=1), now=NOW, limit=1)
    [dead] = await store.tasks.claim("dead-pid", lease_until=LEASE, now=NOW, limit=1)
    later = NOW + timedelta(seconds=5)
    assert await store.tasks.reap(now=later, dead_owners=["dead-pid"]) == 2
    again = await store.tasks.claim("alive", lease_until=later + timedelta(seconds=30), now=later, limit=5)
    assert sorted(task.id for task in again) == sorted([expired.id, dead.id])
    assert all(task.attempts == 2 for task in again)
    log = format_log(await store.tasks.read_log(expired.id))
    assert "worker gone stopped renewing its lease; task queued again" in log
    beat = await store.tasks.heartbeat("gone", [expired.id], [], lease_until=LEASE)
    assert beat.lost == {expired.id}
    assert not await store.tasks.finish(
        expired.id, "gone", JobStatus.SUCCESS, now=later, results={}, bytes_copied=0
    )


async def test_a_retried_task_waits_for_its_backoff(store: Store) -> None:
    policy = await a_stored_policy(store)
    await planned(store, policy, new_task("library/a", "v1", "v2"))
    [task] = await store.tasks.claim("w", lease_until=LEASE, now=NOW, limit=1)
    results = {"v1": ImageOutcome.COPIED, "v2": ImageOutcome.FAILED}
    assert await store.tasks.retry_later(
        task.id,
        "w",
        not_before=NOW + timedelta(seconds=8),
        now=NOW,
        results=results,
        bytes_copied=3,
        status_text="attempt 1 failed",
    )
    assert await store.tasks.claim("w", lease_until=LEASE, now=NOW + timedelta(seconds=7), limit=1) == []
    [again] = await store.tasks.claim("w", lease_until=LEASE, now=NOW + timedelta(seconds=8), limit=1)
    assert again.results == results
    assert [reference for _, reference in again.unsettled_references()] == ["v2"]


async def test_a_failed_execution_reruns_only_its_failed_tasks(store: Store) -> None:
    policy = await a_stored_policy(store)
    execution = await planned(store, policy, new_task("library/a", "v1"), new_task("library/b", "v1", "v2"))
    good, bad = await store.tasks.claim("w", lease_until=LEASE, now=NOW, limit=2)
    await store.tasks.finish(
        good.id, "w", JobStatus.SUCCESS, now=NOW, results={"v1": ImageOutcome.COPIED}, bytes_copied=0
    )
    partial = {"v1": ImageOutcome.COPIED, "v2": ImageOutcome.FAILED}
    await store.tasks.finish(bad.id, "w", JobStatus.ERROR, now=NOW, results=partial, bytes_copied=0)
    rerun = await store.executions.retry_failed(execution.id, now=NOW)
    assert rerun.retry_of == execution.id
    tasks, total = await store.tasks.list_tasks(TaskQuery(rerun.id))
    assert total == 1
    assert tasks[0].source_repository == "library/b"
    assert [reference for _, reference in tasks[0].unsettled_references()] == ["v2"]


async def test_a_running_execution_cannot_be_rerun(store: Store) -> None:
    policy = await a_stored_policy(store)
    execution = await planned(store, policy, new_task("library/a", "v1"))
    with pytest.raises(PreconditionFailed, match="still running"):
        await store.executions.retry_failed(execution.id, now=NOW)


async def test_only_the_newest_executions_are_kept(store: Store) -> None:
    policy = await a_stored_policy(store)
    finished = [await planned(store, policy) for _ in range(7)]
    kept, total = await store.executions.list_executions(ExecutionQuery(policy_id=policy.id))
    assert total == 5  # the fixture's retention
    assert [item.id for item in kept] == [item.id for item in reversed(finished[2:])]


async def test_listing_filters_by_status_and_trigger(store: Store) -> None:
    policy = await a_stored_policy(store)
    await planned(store, policy)
    await store.executions.start(policy, TriggerType.SCHEDULED, now=NOW)
    succeeded, _ = await store.executions.list_executions(
        ExecutionQuery(statuses=frozenset({JobStatus.SUCCESS}))
    )
    scheduled, _ = await store.executions.list_executions(ExecutionQuery(trigger=TriggerType.SCHEDULED))
    assert [item.trigger for item in succeeded] == [TriggerType.MANUAL]
    assert [item.trigger for item in scheduled] == [TriggerType.SCHEDULED]


async def test_the_task_log_can_be_followed(store: Store) -> None:
    policy = await a_stored_policy(store)
    await planned(store, policy, new_task("library/a", "v1"))
    [task] = await store.tasks.claim("w", lease_until=LEASE, now=NOW, limit=1)
    await store.tasks.record_progress(task.id, "w", results={}, bytes_copied=0, log=[(NOW, "[INFO] first")])
    first = await store.tasks.read_log(task.id)
    await store.tasks.record_progress(task.id, "w", results={}, bytes_copied=0, log=[(NOW, "[INFO] second")])
    rest = await store.tasks.read_log(task.id, after=first[-1][0])
    assert [line for _, _, line in first] == ["[INFO] first"]
    assert [line for _, _, line in rest] == ["[INFO] second"]
    assert format_log(first) == "2026-11-28T04:00:00Z [INFO] first\n"


async def test_tasks_ending_at_the_same_moment_still_settle_the_execution(store: Store) -> None:
    policy = await a_stored_policy(store)
    for _ in range(5):
        execution = await planned(
            store, policy, *(new_task(f"library/app{index}", "v1") for index in range(4))
        )
        tasks = await store.tasks.claim("w", lease_until=LEASE, now=NOW, limit=4)
        done = {"v1": ImageOutcome.COPIED}
        await asyncio.gather(
            *(
                store.tasks.finish(task.id, "w", JobStatus.SUCCESS, now=NOW, results=done, bytes_copied=1)
                for task in tasks
            )
        )
        settled = await store.executions.get(execution.id)
        assert settled.phase is Phase.FINISHED
        assert settled.api_status is ExecutionStatus.SUCCEED
