"""Schedule fires: claimed once by insert, whoever races for them; kept with their policy only."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from ferry.replication.domain.policy import Policy, Trigger
from ferry.replication.domain.status import TriggerType
from ferry.store import Store
from ferry.store.schedules import KEEP_FIRES_FOR
from ferry.store.secrets import SecretBox
from tests.store.conftest import NOW, a_policy, a_registry

FIRE = NOW.replace(hour=2)


async def a_scheduled_policy(store: Store, name: str = "nightly") -> Policy:
    registry = await store.registries.find_by_name("acr") or await store.registries.add(a_registry())
    policy = replace(a_policy(name, dest=registry.id), trigger=Trigger(TriggerType.SCHEDULED, "0 0 2 * * *"))
    return await store.policies.add(policy)


async def test_a_fire_is_claimed_once(store: Store) -> None:
    policy = await a_scheduled_policy(store)
    assert await store.schedules.claim_fire(policy.id, FIRE, now=NOW)
    assert not await store.schedules.claim_fire(policy.id, FIRE, now=NOW)
    assert await store.schedules.last_fire(policy.id) == FIRE


async def test_two_stores_racing_for_many_fires_each_claim_every_fire_once(
    store: Store, database_url: str, secrets: SecretBox
) -> None:
    policies = [await a_scheduled_policy(store, f"nightly-{index}") for index in range(5)]
    other = await Store.open(database_url, secrets)
    try:
        fires = [FIRE + timedelta(days=day) for day in range(4)]
        claims = [
            stores.schedules.claim_fire(policy.id, fire, now=NOW)
            for policy in policies
            for fire in fires
            for stores in (store, other)
        ]
        won = await asyncio.gather(*claims)
    finally:
        await other.close()
    assert sum(won) == len(policies) * len(fires)
    assert all(first != second for first, second in zip(won[::2], won[1::2], strict=True))


async def test_last_fires_are_per_policy_and_absent_for_a_policy_that_never_fired(store: Store) -> None:
    fired, never = await a_scheduled_policy(store, "fired"), await a_scheduled_policy(store, "never")
    for day in (2, 0, 1):
        await store.schedules.claim_fire(fired.id, FIRE + timedelta(days=day), now=NOW)
    assert await store.schedules.last_fires([fired.id, never.id]) == {fired.id: FIRE + timedelta(days=2)}
    assert await store.schedules.last_fire(never.id) is None
    assert await store.schedules.last_fires([]) == {}


async def test_the_execution_a_fire_started_is_recorded(store: Store) -> None:
    policy = await a_scheduled_policy(store)
    await store.schedules.claim_fire(policy.id, FIRE, now=NOW)
    assert await store.schedules.find_execution_id(policy.id, FIRE) is None
    execution = await store.executions.start(policy, TriggerType.SCHEDULED, now=NOW)
    await store.schedules.record_execution(policy.id, FIRE, execution.id)
    assert await store.schedules.find_execution_id(policy.id, FIRE) == execution.id


async def test_a_fire_of_a_deleted_policy_cannot_be_claimed(store: Store) -> None:
    policy = await a_scheduled_policy(store)
    await store.policies.delete(policy.id)
    assert not await store.schedules.claim_fire(policy.id, FIRE, now=NOW)


async def test_fires_go_with_their_policy(store: Store) -> None:
    policy = await a_scheduled_policy(store)
    await store.schedules.claim_fire(policy.id, FIRE, now=NOW)
    await store.policies.delete(policy.id)
    again = await a_scheduled_policy(store)
    assert await store.schedules.last_fires([policy.id, again.id]) == {}


async def test_old_fires_are_pruned_but_the_newest_is_kept(store: Store) -> None:
    policy = await a_scheduled_policy(store)
    old = FIRE - KEEP_FIRES_FOR - timedelta(days=1)
    recent = FIRE - timedelta(days=1)
    for fire in (old, recent, FIRE):
        await store.schedules.claim_fire(policy.id, fire, now=NOW)
    assert await store.schedules.find_execution_id(policy.id, FIRE) is None
    # the old row is gone, so claiming it again succeeds; the recent one is still claimed
    assert await store.schedules.claim_fire(policy.id, old, now=NOW)
    assert not await store.schedules.claim_fire(policy.id, recent, now=NOW)
    assert await store.schedules.last_fire(policy.id) == FIRE
