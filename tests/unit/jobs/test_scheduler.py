"""The cron tick over a real store (SQLite and PostgreSQL: the fixtures of ``tests/store``), with the
time given to each round.

No dispatcher runs here, so a started execution stays unfinished: that is what the
single_active_replication case needs, and the other cases only count executions.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ferry.jobs.scheduler import Scheduler
from ferry.jobs.service import ReplicationService
from ferry.replication.domain.execution import Execution
from ferry.replication.domain.policy import Policy, Trigger
from ferry.replication.domain.registry import Registry, RegistryType
from ferry.replication.domain.status import SKIPPED_ACTIVE_TEXT, ExecutionStatus, TriggerType
from ferry.store import Store
from ferry.store.executions import ExecutionQuery
from ferry.store.secrets import SecretBox

SAVED = datetime(2026, 12, 1, 12, 0, 0, 250_000, tzinfo=UTC)
"""When the test policies were created."""
NIGHTLY = Trigger(TriggerType.SCHEDULED, "0 0 2 * * *")


def at(day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, second, micro, tzinfo=UTC)


@pytest.fixture
def scheduler(store: Store) -> Scheduler:
    return Scheduler(ReplicationService(store))


async def add_policy(store: Store, name: str = "nightly", **fields: Any) -> Policy:
    destination = await store.registries.find_by_name("dest") or await store.registries.add(
        Registry(
            id=0,
            name="dest",
            type=RegistryType.DOCKER_REGISTRY,
            url="https://registry.example.com",
            creation_time=SAVED,
            update_time=SAVED,
        )
    )
    values: dict[str, Any] = {"trigger": NIGHTLY, "creation_time": SAVED, "update_time": SAVED, **fields}
    return await store.policies.add(
        Policy(id=0, name=name, src_registry_id=0, dest_registry_id=destination.id, **values)
    )


async def executions_of(store: Store, policy: Policy) -> list[Execution]:
    found, _ = await store.executions.list_executions(ExecutionQuery(policy_id=policy.id))
    return found


async def test_fires_at_its_second_in_utc(store: Store, scheduler: Scheduler) -> None:
    policy = await add_policy(store)
    assert await scheduler.tick(at(2, 1, 59, 59, 999_999)) == []
    (fire,) = await scheduler.tick(at(2, 2))
    assert (fire.policy_id, fire.fire_time) == (policy.id, at(2, 2))
    assert fire.execution.trigger is TriggerType.SCHEDULED
    assert [item.id for item in await executions_of(store, policy)] == [fire.execution.id]
    assert await store.schedules.find_execution_id(policy.id, at(2, 2)) == fire.execution.id


async def test_fires_at_its_second_in_asia_shanghai(store: Store, scheduler: Scheduler) -> None:
    policy = await add_policy(store, trigger=replace(NIGHTLY, timezone="Asia/Shanghai"))
    # 02:00 in Shanghai (UTC+8) is 18:00 UTC the day before
    assert await scheduler.tick(at(1, 17, 59, 59)) == []
    fired = await scheduler.tick(at(1, 18))
    assert [(fire.policy_id, fire.fire_time) for fire in fired] == [(policy.id, at(1, 18))]
    assert await scheduler.tick(at(2, 2)) == []
    assert [fire.fire_time for fire in await scheduler.tick(at(2, 18))] == [at(2, 18)]


async def test_a_fire_runs_once_however_often_the_scheduler_ticks(store: Store, scheduler: Scheduler) -> None:
    policy = await add_policy(store)
    fired = [fire for second in range(5) for fire in await scheduler.tick(at(2, 2, 0, second))]
    assert [fire.fire_time for fire in fired] == [at(2, 2)]
    assert len(await executions_of(store, policy)) == 1


async def test_no_fire_for_times_before_the_policy_was_created(store: Store, scheduler: Scheduler) -> None:
    created_after_two = await add_policy(store)  # saved at 12:00 on the 1st
    assert await scheduler.tick(at(1, 12, 0, 1)) == []
    assert await scheduler.tick(at(1, 23, 59, 59)) == []
    assert await executions_of(store, created_after_two) == []


async def test_no_fire_for_times_before_the_policy_was_updated(store: Store, scheduler: Scheduler) -> None:
    policy = await add_policy(store)
    assert len(await scheduler.tick(at(2, 2))) == 1
    # disabled on the 2nd, re-enabled on the 5th at 09:00: the 3rd, 4th and 5th 02:00 are not run
    await store.policies.update(replace(policy, enabled=False, update_time=at(2, 3)))
    assert await scheduler.tick(at(4, 2)) == []
    await store.policies.update(replace(policy, enabled=True, update_time=at(5, 9)))
    assert await scheduler.tick(at(5, 9, 0, 1)) == []
    (fire,) = await scheduler.tick(at(6, 2))
    assert fire.fire_time == at(6, 2)


async def test_two_schedulers_on_one_database_fire_each_policy_once(
    store: Store, database_url: str, secrets: SecretBox
) -> None:
    policies = [await add_policy(store, f"nightly-{index}") for index in range(6)]
    other = await Store.open(database_url, secrets)
    try:
        first, second = Scheduler(ReplicationService(store)), Scheduler(ReplicationService(other))
        for now in (at(2, 2), at(2, 2, 0, 1), at(3, 2)):
            won = await asyncio.gather(first.tick(now), second.tick(now))
            assert len(won[0]) + len(won[1]) == (len(policies) if now.second == 0 else 0)
    finally:
        await other.close()
    for policy in policies:
        assert len(await executions_of(store, policy)) == 2


async def test_fires_missed_while_down_run_once_at_start_up(
    store: Store, database_url: str, secrets: SecretBox
) -> None:
    policy = await add_policy(store)
    assert len(await Scheduler(ReplicationService(store)).tick(at(2, 2))) == 1
    # ferry stops after the 2nd's run and starts again on the 9th at 13:00: six fires were missed
    restarted = await Store.open(database_url, secrets)
    try:
        scheduler = Scheduler(ReplicationService(restarted))
        (fire,) = await scheduler.tick(at(9, 13))
        assert fire.fire_time == at(9, 2)
        assert await scheduler.tick(at(9, 13, 0, 1)) == []
    finally:
        await restarted.close()
    assert [item.trigger for item in await executions_of(store, policy)] == [TriggerType.SCHEDULED] * 2


async def test_disabled_and_manual_policies_never_fire(store: Store, scheduler: Scheduler) -> None:
    quiet = [
        await add_policy(store, "disabled", enabled=False),
        await add_policy(store, "manual", trigger=Trigger(TriggerType.MANUAL)),
    ]
    for hour in range(48):
        assert await scheduler.tick(at(2, 0) + timedelta(hours=hour)) == []
    for policy in quiet:
        assert await executions_of(store, policy) == []


async def test_single_active_a_fire_while_a_run_is_active_is_recorded_as_skipped(
    store: Store, scheduler: Scheduler
) -> None:
    policy = await add_policy(store, single_active_replication=True)
    running = await ReplicationService(store).start_execution(policy)
    (fire,) = await scheduler.tick(at(2, 2))
    assert fire.execution.id != running.id
    assert fire.execution.trigger is TriggerType.SCHEDULED
    assert fire.execution.api_status is ExecutionStatus.FAILED
    assert fire.execution.status_text == SKIPPED_ACTIVE_TEXT
    assert (await store.executions.get(running.id)).api_status is ExecutionStatus.IN_PROGRESS


class FakeTime:
    """``run``'s clock and sleep: each sleep moves the clock on; the last one ends ``run``."""

    def __init__(self, start: datetime, *, sleeps: int) -> None:
        self.now = start
        self.slept: list[float] = []
        self._sleeps = sleeps

    def clock(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)
        if len(self.slept) == self._sleeps:
            raise asyncio.CancelledError


async def test_run_ticks_just_after_each_second_and_fires_on_time(store: Store) -> None:
    policy = await add_policy(store)
    time = FakeTime(at(2, 1, 59, 58, 300_000), sleeps=4)
    scheduler = Scheduler(ReplicationService(store), clock=time.clock, sleep=time.sleep)
    with pytest.raises(asyncio.CancelledError):
        await scheduler.run()
    assert time.slept[0] == pytest.approx(0.705)
    assert all(0 < seconds <= 1.0 for seconds in time.slept)
    assert await store.schedules.last_fire(policy.id) == at(2, 2)
    assert len(await executions_of(store, policy)) == 1
