"""Executions and tasks as values: what the store returns and the API, CLI and UI show.

An execution is one run of a policy; a task is one source repository of it (as in Harbor), with
the artifacts the plan chose and the outcome of each artifact settled so far. Statuses are stored
in Harbor's job-service words (``JobStatus``); ``api_status`` gives the words its API shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from ferry.replication.domain.plan import PlannedArtifact
from ferry.replication.domain.scope import ExecutionScope
from ferry.replication.domain.status import (
    ExecutionCounts,
    ExecutionStatus,
    ItemCounts,
    JobStatus,
    Operation,
    TaskStatus,
    TriggerType,
    execution_status,
    task_status,
)
from ferry.replication.engine.progress import ImageOutcome


class Phase(StrEnum):
    """Where the dispatcher is with an execution."""

    PLANNING = "planning"
    """The source is being listed and filtered; no tasks yet."""
    RUNNING = "running"
    """Tasks exist; the execution ends when the last one does."""
    FINISHED = "finished"


@dataclass(frozen=True, kw_only=True)
class Execution:
    id: int
    policy_id: int
    status: JobStatus
    status_text: str = ""
    trigger: TriggerType
    phase: Phase
    start_time: datetime
    end_time: datetime | None = None
    counts: ExecutionCounts = field(default_factory=ExecutionCounts)
    stop_requested: bool = False
    dry_run: bool = False
    bytes_copied: int = 0
    retry_of: int | None = None
    scope: ExecutionScope | None = None
    """What an event-based execution is limited to (one repository's pushed or deleted artifacts)."""

    @property
    def api_status(self) -> ExecutionStatus:
        return execution_status(self.status)

    @property
    def is_finished(self) -> bool:
        return self.phase is Phase.FINISHED


@dataclass(frozen=True, kw_only=True)
class NewTask:
    """A task as planning creates it."""

    operation: Operation
    source_repository: str
    destination_repository: str
    artifacts: tuple[PlannedArtifact, ...]
    resource_type: str = "image"

    @property
    def item_count(self) -> int:
        return sum(len(artifact.references) for artifact in self.artifacts)


@dataclass(frozen=True, kw_only=True)
class Task:
    id: int
    execution_id: int
    status: JobStatus
    status_text: str = ""
    operation: Operation
    resource_type: str
    source_repository: str
    destination_repository: str
    src_resource: str
    dst_resource: str
    artifacts: tuple[PlannedArtifact, ...]
    results: dict[str, ImageOutcome] = field(default_factory=dict)
    attempts: int = 0
    bytes_copied: int = 0
    start_time: datetime | None = None
    end_time: datetime | None = None

    @property
    def api_status(self) -> TaskStatus:
        return task_status(self.status)

    @property
    def job_id(self) -> str:
        return f"ferry-task-{self.id}"

    @property
    def counts(self) -> ItemCounts:
        return ItemCounts.of(self.results.values())

    def unsettled_references(self) -> list[tuple[PlannedArtifact, str]]:
        """(artifact, reference) pairs without a good outcome yet: what the next attempt copies."""
        return [
            (artifact, reference)
            for artifact in self.artifacts
            for reference in artifact.references
            if self.results.get(reference, ImageOutcome.FAILED) is ImageOutcome.FAILED
        ]


def resource_label(repository: str, item_count: int) -> str:
    """Harbor's task resource text: ``library/nginx [3 item(s) in total]``."""
    return f"{repository} [{item_count} item(s) in total]"
