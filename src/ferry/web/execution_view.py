"""What the Executions screens show of an execution and its tasks, worked out once for the pages
and their live fragments: how far a run is (tasks done of the total, bytes and the average rate),
how long it took, and which actions it allows (STOP while unfinished, RETRY once finished with
failed or stopped tasks, the tasks the store's ``retry_failed`` runs again)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ferry.replication.domain.execution import Execution, Phase, Task
from ferry.replication.domain.status import ExecutionStatus, Operation

PAGE_SIZE = 20
"""Executions per page of ``/ui/executions``."""
TASK_PAGE_SIZE = 100
"""Tasks per page of an execution's task table."""


@dataclass(frozen=True)
class ExecutionView:
    execution: Execution
    rule_name: str | None
    """None when the rule is gone (deleting a rule deletes its executions too, so only between the
    two reads of a page)."""
    now: datetime

    @property
    def status(self) -> ExecutionStatus:
        return self.execution.api_status

    @property
    def final(self) -> bool:
        return self.execution.is_finished

    @property
    def planning(self) -> bool:
        return self.execution.phase is Phase.PLANNING

    @property
    def done(self) -> int:
        counts = self.execution.counts
        return counts.succeed + counts.failed + counts.stopped

    @property
    def percent(self) -> int:
        total = self.execution.counts.total
        return 100 if total == 0 and self.final else (100 * self.done // total if total else 0)

    @property
    def seconds(self) -> float:
        end = self.execution.end_time or self.now
        return max(0.0, (end - self.execution.start_time).total_seconds())

    @property
    def rate(self) -> int:
        """Bytes per second over the whole run so far (0 until a second has passed)."""
        return int(self.execution.bytes_copied / self.seconds) if self.seconds >= 1 else 0

    @property
    def stoppable(self) -> bool:
        return not self.final

    @property
    def retryable(self) -> bool:
        counts = self.execution.counts
        return self.final and (counts.failed + counts.stopped) > 0


def has_deletions(tasks: list[Task]) -> bool:
    return any(task.operation is not Operation.COPY for task in tasks)


@dataclass(frozen=True)
class Pages:
    """Page ``number`` (from 1) of ``total`` items, ``size`` a page."""

    number: int
    size: int
    total: int

    @classmethod
    def of(cls, number: int, *, size: int, total: int) -> Pages:
        """Page ``number``, or the nearest page that exists."""
        return cls(min(max(number, 1), max(1, -(-total // size))), size, total)

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def count(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first_item(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last_item(self) -> int:
        return min(self.offset + self.size, self.total)

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.count else None


def page_number(text: str | None) -> int:
    """The page a query asks for; 1 for a missing or unreadable one."""
    found = parse_id(text)
    return 1 if found is None else found


def parse_id(text: str | None) -> int | None:
    """A positive id from a query parameter; None for an empty or unreadable one (the filter's
    "All")."""
    if text is None or not text.strip().isdigit():
        return None
    value = int(text)
    return value if 0 < value < 2**63 else None
