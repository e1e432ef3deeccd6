"""Executions that ended, announced to listeners in this process after the commit that ended them.

An execution ends in exactly one transaction (the last task's end, a stop, a failed or empty plan,
a start skipped by single_active_replication, the reaper), so each end is announced once, by the
process that committed it. The service's metrics listen; a listener runs on the event loop and
must return quickly and never raise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from ferry.replication.domain.status import ExecutionStatus, JobStatus, TriggerType, execution_status
from ferry.store.schema import ExecutionRow


@dataclass(frozen=True)
class ExecutionEnded:
    id: int
    policy_id: int
    status: ExecutionStatus
    trigger: TriggerType
    start_time: datetime
    end_time: datetime

    @property
    def seconds(self) -> float:
        return max(0.0, (self.end_time - self.start_time).total_seconds())


ExecutionEndListener = Callable[[ExecutionEnded], None]


class ExecutionEnds:
    """The listeners, shared by the execution and task stores of one ``Store``."""

    def __init__(self) -> None:
        self._listeners: list[ExecutionEndListener] = []

    def subscribe(self, listener: ExecutionEndListener) -> None:
        self._listeners.append(listener)

    def announce(self, rows: Iterable[ExecutionRow]) -> None:
        """Tell every listener about ``rows``, finished and committed."""
        ended = [_ended(row) for row in rows]
        for listener in self._listeners:
            for execution in ended:
                listener(execution)


def _ended(row: ExecutionRow) -> ExecutionEnded:
    assert row.end_time is not None, "announce finished executions only"
    return ExecutionEnded(
        id=row.id,
        policy_id=row.policy_id,
        status=execution_status(JobStatus(row.status)),
        trigger=TriggerType(row.trigger),
        start_time=row.start_time,
        end_time=row.end_time,
    )
