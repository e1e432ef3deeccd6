from __future__ import annotations

import os
import random
import socket

import pytest

from ferry.errors import (
    Cancelled,
    Conflict,
    Denied,
    FerryError,
    IntegrityError,
    InvalidInput,
    NotFound,
    RequestContext,
    Unauthorized,
    Unavailable,
    Unsupported,
)
from ferry.jobs.identity import is_dead_here, worker_identity
from ferry.jobs.retry import TaskRetryPolicy, can_cure

WHERE = RequestContext("registry.example.com", "library/app", "v1")


@pytest.mark.parametrize(
    ("error", "curable"),
    [
        (Unavailable("down", context=WHERE, status=503), True),
        (IntegrityError("digest mismatch"), True),
        (Conflict("busy", context=WHERE, status=409), True),
        (None, True),
        (Unauthorized("who", context=WHERE, status=401), False),
        (Denied("no", context=WHERE, status=403), False),
        (NotFound("gone", context=WHERE, status=404), False),
        (InvalidInput("bad"), False),
        (Unsupported("schema 1"), False),
        (Cancelled("stopped"), False),
    ],
)
def test_only_errors_a_retry_can_cure_are_retried(error: FerryError | None, curable: bool) -> None:
    assert can_cure(error) is curable


def test_backoff_doubles_with_jitter_and_stays_under_the_cap() -> None:
    policy = TaskRetryPolicy(attempts=10, base_delay=2.0, max_delay=30.0)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (5, 30.0), (9, 30.0)]:
        delays = [policy.delay(attempt, rng=rng) for _ in range(200)]
        assert min(delays) >= ceiling / 2
        assert max(delays) <= ceiling
        assert max(delays) - min(delays) > ceiling / 10  # jittered, not fixed


def test_attempts_count_the_first_try() -> None:
    policy = TaskRetryPolicy(attempts=3)
    assert [policy.allows_another(made) for made in (1, 2, 3)] == [True, True, False]


def test_this_process_is_alive_and_a_finished_one_is_dead() -> None:
    assert not is_dead_here(worker_identity())
    host, pid, start = worker_identity().split(":")
    assert host == socket.gethostname()
    assert int(pid) == os.getpid()
    assert is_dead_here(f"{host}:{pid}:{int(start) + 1}")  # same pid, another process start
    assert is_dead_here(f"{host}:4194999:1")  # above any pid_max in use


def test_a_process_on_another_machine_is_left_to_its_lease() -> None:
    assert not is_dead_here("some-other-host:1:1")
    assert not is_dead_here("not an owner")
