"""Harbor's execution and task vocabularies, and the rules that turn task states into what users see.

Harbor keeps job-service states internally (``Pending, Scheduled, Running, Stopped, Error, Success``)
and shows executions and tasks in the API with other words (``InProgress, Succeed, Failed, Stopped``,
plus ``Pending`` for tasks). ferry stores the internal words and maps them exactly as Harbor's API
handler does, so existing clients and scripts read the same strings.

An execution's status is derived from its tasks: any pending or running task makes it InProgress;
otherwise any failure makes it Failed, then any stop makes it Stopped, else it Succeeded. An
execution without tasks succeeds with "no resources need to be replicated".

Within a task, every artifact ends with an ``ImageOutcome`` (the engine's word). Harbor hides the
artifacts it skipped because the destination tag already points elsewhere and override is off;
ferry counts them separately and logs ``image already exists: <ref> (enable override to replace it)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from ferry.replication.engine.progress import ImageOutcome

NO_RESOURCES_TEXT = "no resources need to be replicated"
SKIPPED_ACTIVE_TEXT = "Execution skipped: active replication still in progress."


class JobStatus(StrEnum):
    """A job's state as stored (Harbor's job service words)."""

    PENDING = "Pending"
    SCHEDULED = "Scheduled"
    RUNNING = "Running"
    STOPPED = "Stopped"
    ERROR = "Error"
    SUCCESS = "Success"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset({JobStatus.STOPPED, JobStatus.ERROR, JobStatus.SUCCESS})


class ExecutionStatus(StrEnum):
    """An execution's status in the API."""

    IN_PROGRESS = "InProgress"
    SUCCEED = "Succeed"
    FAILED = "Failed"
    STOPPED = "Stopped"


class TaskStatus(StrEnum):
    """A task's status in the API: the execution words plus ``Pending``."""

    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    SUCCEED = "Succeed"
    FAILED = "Failed"
    STOPPED = "Stopped"


class TriggerType(StrEnum):
    """What starts an execution; also a policy's trigger type."""

    MANUAL = "manual"
    SCHEDULED = "scheduled"
    EVENT_BASED = "event_based"


class Operation(StrEnum):
    """What a task does at the destination."""

    COPY = "copy"
    DELETION = "deletion"
    TAG_DELETION = "tag deletion"


_EXECUTION_STATUS = {
    JobStatus.PENDING: ExecutionStatus.IN_PROGRESS,
    JobStatus.SCHEDULED: ExecutionStatus.IN_PROGRESS,
    JobStatus.RUNNING: ExecutionStatus.IN_PROGRESS,
    JobStatus.SUCCESS: ExecutionStatus.SUCCEED,
    JobStatus.ERROR: ExecutionStatus.FAILED,
    JobStatus.STOPPED: ExecutionStatus.STOPPED,
}

_TASK_STATUS = {
    JobStatus.PENDING: TaskStatus.PENDING,
    JobStatus.SCHEDULED: TaskStatus.IN_PROGRESS,
    JobStatus.RUNNING: TaskStatus.IN_PROGRESS,
    JobStatus.SUCCESS: TaskStatus.SUCCEED,
    JobStatus.ERROR: TaskStatus.FAILED,
    JobStatus.STOPPED: TaskStatus.STOPPED,
}


def execution_status(status: JobStatus) -> ExecutionStatus:
    """The API word for an execution's stored status (Harbor only stores Running/Success/Error/Stopped
    for executions; Pending and Scheduled map to InProgress so that the mapping is total)."""
    return _EXECUTION_STATUS[status]


def task_status(status: JobStatus) -> TaskStatus:
    return _TASK_STATUS[status]


def job_statuses(status: ExecutionStatus | TaskStatus) -> frozenset[JobStatus]:
    """The stored statuses an API status stands for: what a ``?status=InProgress`` query selects."""
    table: dict[JobStatus, ExecutionStatus] | dict[JobStatus, TaskStatus]
    table = _TASK_STATUS if isinstance(status, TaskStatus) else _EXECUTION_STATUS
    return frozenset(job for job, shown in table.items() if shown == status)


@dataclass(frozen=True)
class ExecutionCounts:
    """Harbor's execution counters; ``in_progress`` counts pending, scheduled and running tasks."""

    total: int = 0
    succeed: int = 0
    failed: int = 0
    in_progress: int = 0
    stopped: int = 0

    @classmethod
    def of(cls, task_statuses: Iterable[JobStatus]) -> ExecutionCounts:
        shown = Counter(execution_status(status) for status in task_statuses)
        return cls(
            total=shown.total(),
            succeed=shown[ExecutionStatus.SUCCEED],
            failed=shown[ExecutionStatus.FAILED],
            in_progress=shown[ExecutionStatus.IN_PROGRESS],
            stopped=shown[ExecutionStatus.STOPPED],
        )


class ExecutionOutcome(NamedTuple):
    status: ExecutionStatus
    status_text: str


def derive_execution_status(task_statuses: Iterable[JobStatus]) -> ExecutionOutcome:
    """The execution's API status and status text, from the stored statuses of its tasks."""
    counts = ExecutionCounts.of(task_statuses)
    if counts.total == 0:
        return ExecutionOutcome(ExecutionStatus.SUCCEED, NO_RESOURCES_TEXT)
    if counts.in_progress:
        return ExecutionOutcome(ExecutionStatus.IN_PROGRESS, "")
    if counts.failed:
        return ExecutionOutcome(ExecutionStatus.FAILED, "")
    if counts.stopped:
        return ExecutionOutcome(ExecutionStatus.STOPPED, "")
    return ExecutionOutcome(ExecutionStatus.SUCCEED, "")


def already_exists_message(reference: str) -> str:
    """The task log line for an artifact skipped because override is off."""
    return f"image already exists: {reference} (enable override to replace it)"


@dataclass(frozen=True)
class ItemCounts:
    """What happened to the artifacts of one task (or a whole execution, summed)."""

    copied: int = 0
    up_to_date: int = 0
    skipped_exists: int = 0
    failed: int = 0
    deleted: int = 0
    """References a deletion task deleted at the destination."""

    @classmethod
    def of(cls, outcomes: Iterable[ImageOutcome]) -> ItemCounts:
        counts = Counter(outcomes)
        return cls(
            copied=counts[ImageOutcome.COPIED],
            up_to_date=counts[ImageOutcome.UP_TO_DATE],
            skipped_exists=counts[ImageOutcome.SKIPPED_EXISTS],
            failed=counts[ImageOutcome.FAILED],
            deleted=counts[ImageOutcome.DELETED],
        )

    @property
    def total(self) -> int:
        return self.copied + self.up_to_date + self.skipped_exists + self.failed + self.deleted

    def add(self, outcome: ImageOutcome) -> ItemCounts:
        return self + ItemCounts.of([outcome])

    def __add__(self, other: ItemCounts) -> ItemCounts:
        return ItemCounts(
            copied=self.copied + other.copied,
            up_to_date=self.up_to_date + other.up_to_date,
            skipped_exists=self.skipped_exists + other.skipped_exists,
            failed=self.failed + other.failed,
            deleted=self.deleted + other.deleted,
        )

    def summary(self, *, deletion: bool = False) -> str:
        """One line for the end of a task log, naming the override setting when it caused skips."""
        if deletion:
            return f"{self.deleted} deleted, {self.up_to_date} kept or already gone, {self.failed} failed"
        text = f"{self.copied} copied, {self.up_to_date} up to date, "
        text += f"{self.skipped_exists} skipped"
        if self.skipped_exists:
            text += " (already exist, override is off)"
        return text + f", {self.failed} failed"


def task_result(counts: ItemCounts) -> JobStatus:
    """A finished task's status: Error if any artifact failed. Skipped artifacts do not fail the
    task (as in Harbor); they are visible in ``skipped_exists`` and the log instead."""
    return JobStatus.ERROR if counts.failed else JobStatus.SUCCESS
