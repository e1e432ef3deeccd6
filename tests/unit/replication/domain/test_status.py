from __future__ import annotations

from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferry.replication.domain.status import (
    NO_RESOURCES_TEXT,
    ExecutionCounts,
    ExecutionOutcome,
    ExecutionStatus,
    ItemCounts,
    JobStatus,
    Operation,
    TaskStatus,
    TriggerType,
    already_exists_message,
    derive_execution_status,
    execution_status,
    job_statuses,
    task_result,
    task_status,
)
from ferry.replication.engine.progress import ImageOutcome

statuses = st.lists(st.sampled_from(JobStatus), max_size=30)
ACTIVE = (JobStatus.PENDING, JobStatus.SCHEDULED, JobStatus.RUNNING)


def test_vocabularies_use_harbors_exact_strings() -> None:
    assert [str(status) for status in JobStatus] == [
        "Pending",
        "Scheduled",
        "Running",
        "Stopped",
        "Error",
        "Success",
    ]
    assert [str(status) for status in ExecutionStatus] == ["InProgress", "Succeed", "Failed", "Stopped"]
    assert set(TaskStatus) == set(ExecutionStatus) | {"Pending"}
    assert [str(trigger) for trigger in TriggerType] == ["manual", "scheduled", "event_based"]
    assert [str(operation) for operation in Operation] == ["copy", "deletion", "tag deletion"]


@pytest.mark.parametrize(
    ("job", "execution", "task"),
    [
        (JobStatus.PENDING, ExecutionStatus.IN_PROGRESS, TaskStatus.PENDING),
        (JobStatus.SCHEDULED, ExecutionStatus.IN_PROGRESS, TaskStatus.IN_PROGRESS),
        (JobStatus.RUNNING, ExecutionStatus.IN_PROGRESS, TaskStatus.IN_PROGRESS),
        (JobStatus.SUCCESS, ExecutionStatus.SUCCEED, TaskStatus.SUCCEED),
        (JobStatus.ERROR, ExecutionStatus.FAILED, TaskStatus.FAILED),
        (JobStatus.STOPPED, ExecutionStatus.STOPPED, TaskStatus.STOPPED),
    ],
)
def test_internal_status_maps_to_the_api_word_as_harbors_handler_does(
    job: JobStatus, execution: ExecutionStatus, task: TaskStatus
) -> None:
    assert execution_status(job) is execution
    assert task_status(job) is task


def test_api_status_query_selects_every_internal_status_it_stands_for() -> None:
    assert job_statuses(TaskStatus.IN_PROGRESS) == {JobStatus.SCHEDULED, JobStatus.RUNNING}
    assert job_statuses(TaskStatus.PENDING) == {JobStatus.PENDING}
    assert job_statuses(ExecutionStatus.IN_PROGRESS) == set(ACTIVE)
    assert job_statuses(ExecutionStatus.FAILED) == {JobStatus.ERROR}


@pytest.mark.parametrize("status", list(TaskStatus) + list(ExecutionStatus))
def test_job_statuses_is_the_inverse_of_the_mapping(status: TaskStatus | ExecutionStatus) -> None:
    mapping = task_status if isinstance(status, TaskStatus) else execution_status
    assert job_statuses(status)
    assert all(mapping(job) == status for job in job_statuses(status))


def test_final_statuses() -> None:
    assert {status for status in JobStatus if status.is_final} == {
        JobStatus.STOPPED,
        JobStatus.ERROR,
        JobStatus.SUCCESS,
    }


def test_no_tasks_succeeds_with_harbors_text() -> None:
    assert derive_execution_status([]) == ExecutionOutcome(ExecutionStatus.SUCCEED, NO_RESOURCES_TEXT)
    assert NO_RESOURCES_TEXT == "no resources need to be replicated"


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        ([JobStatus.SUCCESS, JobStatus.RUNNING], ExecutionStatus.IN_PROGRESS),
        ([JobStatus.ERROR, JobStatus.PENDING], ExecutionStatus.IN_PROGRESS),
        ([JobStatus.STOPPED, JobStatus.SCHEDULED], ExecutionStatus.IN_PROGRESS),
        ([JobStatus.SUCCESS, JobStatus.ERROR, JobStatus.STOPPED], ExecutionStatus.FAILED),
        ([JobStatus.SUCCESS, JobStatus.STOPPED], ExecutionStatus.STOPPED),
        ([JobStatus.SUCCESS, JobStatus.SUCCESS], ExecutionStatus.SUCCEED),
        ([JobStatus.ERROR], ExecutionStatus.FAILED),
        ([JobStatus.STOPPED], ExecutionStatus.STOPPED),
    ],
)
def test_execution_status_follows_the_reference_precedence(
    tasks: list[JobStatus], expected: ExecutionStatus
) -> None:
    assert derive_execution_status(tasks) == ExecutionOutcome(expected, "")


@given(statuses, st.sampled_from(ACTIVE))
def test_any_active_task_keeps_the_execution_in_progress(tasks: list[JobStatus], active: JobStatus) -> None:
    assert derive_execution_status([*tasks, active]).status is ExecutionStatus.IN_PROGRESS


@given(st.lists(st.sampled_from([JobStatus.SUCCESS, JobStatus.STOPPED, JobStatus.ERROR]), max_size=30))
def test_any_error_without_active_tasks_fails_the_execution(tasks: list[JobStatus]) -> None:
    assert derive_execution_status([*tasks, JobStatus.ERROR]).status is ExecutionStatus.FAILED


@given(st.lists(st.just(JobStatus.SUCCESS), min_size=1, max_size=30))
def test_only_successes_succeed_without_text(tasks: list[JobStatus]) -> None:
    assert derive_execution_status(tasks) == ExecutionOutcome(ExecutionStatus.SUCCEED, "")


@given(statuses, st.randoms(use_true_random=False))
def test_derivation_ignores_task_order(tasks: list[JobStatus], rng: Random) -> None:
    shuffled = list(tasks)
    rng.shuffle(shuffled)
    assert derive_execution_status(shuffled) == derive_execution_status(tasks)
    assert ExecutionCounts.of(shuffled) == ExecutionCounts.of(tasks)


@given(statuses)
def test_counts_sum_to_the_total(tasks: list[JobStatus]) -> None:
    counts = ExecutionCounts.of(tasks)
    assert counts.total == len(tasks)
    assert counts.succeed + counts.failed + counts.in_progress + counts.stopped == counts.total


@given(statuses)
def test_status_agrees_with_the_counts(tasks: list[JobStatus]) -> None:
    counts = ExecutionCounts.of(tasks)
    status = derive_execution_status(tasks).status
    assert (status is ExecutionStatus.IN_PROGRESS) == (counts.in_progress > 0)
    if status is ExecutionStatus.SUCCEED:
        assert counts.succeed == counts.total


def test_counts_put_pending_scheduled_and_running_in_progress() -> None:
    tasks = [*ACTIVE, JobStatus.SUCCESS, JobStatus.ERROR, JobStatus.ERROR, JobStatus.STOPPED]
    assert ExecutionCounts.of(tasks) == ExecutionCounts(
        total=7, succeed=1, failed=2, in_progress=3, stopped=1
    )


def test_already_exists_message_is_the_issues_log_line() -> None:
    assert (
        already_exists_message("harbor.local/lgy-images/app:v1")
        == "image already exists: harbor.local/lgy-images/app:v1 (enable override to replace it)"
    )


def test_item_counts_keep_skipped_artifacts_apart_from_copied_and_failed() -> None:
    counts = ItemCounts.of(
        [
            ImageOutcome.COPIED,
            ImageOutcome.SKIPPED_EXISTS,
            ImageOutcome.SKIPPED_EXISTS,
            ImageOutcome.UP_TO_DATE,
        ]
    )
    assert counts == ItemCounts(copied=1, up_to_date=1, skipped_exists=2, failed=0)
    assert counts.total == 4
    assert counts.summary() == "1 copied, 1 up to date, 2 skipped (already exist, override is off), 0 failed"


def test_item_counts_add_and_sum() -> None:
    counts = ItemCounts().add(ImageOutcome.FAILED).add(ImageOutcome.COPIED)
    assert counts == ItemCounts(copied=1, failed=1)
    assert counts + ItemCounts(skipped_exists=3) == ItemCounts(copied=1, skipped_exists=3, failed=1)
    assert ItemCounts().summary() == "0 copied, 0 up to date, 0 skipped, 0 failed"


@given(st.lists(st.sampled_from(ImageOutcome), max_size=40))
def test_item_counts_total_is_the_number_of_outcomes(outcomes: list[ImageOutcome]) -> None:
    assert ItemCounts.of(outcomes).total == len(outcomes)


def test_skipped_artifacts_do_not_fail_a_task_but_failures_do() -> None:
    assert task_result(ItemCounts(copied=2, skipped_exists=5)) is JobStatus.SUCCESS
    assert task_result(ItemCounts(copied=2, failed=1)) is JobStatus.ERROR
    assert task_result(ItemCounts()) is JobStatus.SUCCESS
