"""Retrying a task whose images failed: capped, jittered exponential backoff, and only for errors
a later attempt can cure (a registry that was down, a connection cut, a throttled request)."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from ferry.errors import Cancelled, Conflict, FerryError, IntegrityError, Unavailable
from ferry.replication.domain.status import TriggerType


@dataclass(frozen=True)
class TaskRetryPolicy:
    attempts: int = 3
    """Attempts per task in all (1 means no retry)."""
    base_delay: float = 5.0
    max_delay: float = 300.0
    event_attempts: int = 10
    """Attempts of an event-based execution's tasks (when retries are on): an event is not sent
    again, so its copy or deletion waits out a destination outage of 10-20 minutes with the
    default delays (5 s doubling to 5 minutes); after that it is Failed and can be re-run."""

    def for_trigger(self, trigger: TriggerType) -> TaskRetryPolicy:
        """The policy for tasks of executions started by ``trigger``; ``attempts=1`` (no retries)
        holds for every trigger."""
        if trigger is TriggerType.EVENT_BASED and self.attempts > 1:
            return replace(self, attempts=max(self.attempts, self.event_attempts))
        return self

    def delay(self, attempt: int, *, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based): between half and all
        of ``base * 2**(attempt-1)``, capped."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(attempt - 1, 0))
        return (rng or random).uniform(ceiling / 2, ceiling)

    def allows_another(self, attempts_made: int) -> bool:
        return attempts_made < self.attempts


def can_cure(error: FerryError | None) -> bool:
    """Whether another attempt might succeed. Unavailable registries, interrupted or corrupted
    transfers and concurrent-write conflicts can; wrong credentials, missing images, refused
    content and invalid input cannot. ``None`` (an unexpected internal error) gets the benefit of
    the doubt."""
    if error is None:
        return True
    if isinstance(error, Cancelled):
        return False
    return isinstance(error, Unavailable | IntegrityError | Conflict)
