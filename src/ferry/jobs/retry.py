"""Retrying a task whose images failed: capped, jittered exponential backoff, and only for errors
a later attempt can cure (a registry that was down, a connection cut, a throttled request)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ferry.errors import Cancelled, Conflict, FerryError, IntegrityError, Unavailable


@dataclass(frozen=True)
class TaskRetryPolicy:
    attempts: int = 3
    """Attempts per task in all (1 means no retry)."""
    base_delay: float = 5.0
    max_delay: float = 300.0

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
