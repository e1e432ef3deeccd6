"""Webhook policies, the outbox and the delivery log in the store, on SQLite and PostgreSQL:
auth headers sealed at rest, each event queued once however many processes try, deliveries
claimed by one process at a time, and every attempt recorded."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text

from ferry.errors import RecordConflict
from ferry.replication.domain.execution import Execution
from ferry.replication.domain.status import TriggerType
from ferry.replication.domain.webhooks import (
    AttemptResult,
    DeliveryStatus,
    EventType,
    NewDelivery,
    WebhookPolicy,
    WebhookTarget,
)
from ferry.store import Store
from ferry.store.webhook_deliveries import Mark
from tests.store.conftest import NOW, a_policy, a_registry

SECRET = "Bearer s3cret-hook-header"
LATER = NOW + timedelta(minutes=1)


def a_webhook(name: str = "ops", *, enabled: bool = True) -> WebhookPolicy:
    return WebhookPolicy(
        id=0,
        name=name,
        enabled=enabled,
        event_types=(EventType.REPLICATION_FINISHED,),
        targets=(WebhookTarget(address="https://hooks.example.com/ferry", auth_header=SECRET),),
        creation_time=NOW - timedelta(hours=1),
        update_time=NOW - timedelta(hours=1),
    )


async def an_ended_execution(store: Store, *, dry_run: bool = False) -> Execution:
    """An execution whose empty plan ended it at NOW."""
    registry = await store.registries.find_by_name("acr") or await store.registries.add(a_registry())
    policy = await store.policies.find_by_name("to-acr") or await store.policies.add(
        a_policy(dest=registry.id)
    )
    execution = await store.executions.start(policy, TriggerType.MANUAL, now=NOW, dry_run=dry_run)
    await store.executions.claim_planning("planner", lease_until=LATER, now=NOW, limit=10)
    assert await store.executions.finish_planning(execution.id, "planner", [], now=NOW)
    return await store.executions.get(execution.id)


def a_delivery(webhook: WebhookPolicy, execution: Execution) -> NewDelivery:
    return NewDelivery(
        policy_id=webhook.id,
        target_index=0,
        target=webhook.targets[0],
        event_type=EventType.REPLICATION_FINISHED,
        execution_id=execution.id,
        payload='{"type": "REPLICATION_FINISHED"}',
    )


async def test_the_auth_header_is_sealed_at_rest_and_opened_on_read(store: Store) -> None:
    webhook = await store.webhooks.add(a_webhook())
    async with store.database.engine.connect() as connection:
        stored = (await connection.execute(text("SELECT targets FROM webhook_policies"))).scalar_one()
    assert SECRET not in str(stored)
    assert (await store.webhooks.get(webhook.id)).targets[0].auth_header == SECRET
    assert SECRET not in repr(webhook)


async def test_a_taken_name_is_a_conflict(store: Store) -> None:
    await store.webhooks.add(a_webhook())
    with pytest.raises(RecordConflict, match="'ops' already exists"):
        await store.webhooks.add(a_webhook())


async def test_an_ended_execution_is_queued_once_however_many_processes_try(store: Store) -> None:
    webhook = await store.webhooks.add(a_webhook())
    execution = await an_ended_execution(store)
    assert await store.deliveries.executions_to_announce(
        webhook.id, since=webhook.creation_time, limit=10
    ) == [execution.id]
    outcomes = await asyncio.gather(
        *(
            store.deliveries.enqueue(
                [Mark(webhook.id, execution.id)], [a_delivery(webhook, execution)], now=NOW
            )
            for _ in range(5)
        )
    )
    assert sorted(outcomes) == [False, False, False, False, True]
    deliveries, total = await store.deliveries.list_deliveries(webhook.id, offset=0, limit=10)
    assert total == 1
    assert (deliveries[0].status, deliveries[0].attempts) == (DeliveryStatus.PENDING, 0)
    assert (
        await store.deliveries.executions_to_announce(webhook.id, since=webhook.creation_time, limit=10) == []
    )


async def test_executions_that_ended_before_the_policy_and_dry_runs_are_not_announced(store: Store) -> None:
    await an_ended_execution(store)
    await an_ended_execution(store, dry_run=True)
    webhook = await store.webhooks.add(replace(a_webhook(), creation_time=LATER, update_time=LATER))
    assert await store.deliveries.executions_to_announce(webhook.id, since=LATER, limit=10) == []
    (_, since) = (await store.webhooks.enabled_policies())[0]
    assert since == LATER


async def test_re_enabling_a_policy_announces_only_what_ends_afterwards(store: Store) -> None:
    webhook = await store.webhooks.add(a_webhook(enabled=False))
    assert await store.webhooks.enabled_policies() == []
    await store.webhooks.update(replace(webhook, enabled=True, update_time=LATER))
    ((enabled, since),) = await store.webhooks.enabled_policies()
    assert (enabled.id, since) == (webhook.id, LATER)


async def test_a_claimed_delivery_belongs_to_one_process_until_its_lease_lapses(store: Store) -> None:
    webhook = await store.webhooks.add(a_webhook())
    execution = await an_ended_execution(store)
    await store.deliveries.enqueue(
        [Mark(webhook.id, execution.id)], [a_delivery(webhook, execution)], now=NOW
    )

    claims = await asyncio.gather(
        *(store.deliveries.claim(f"p{index}", now=NOW, lease_until=LATER, limit=5) for index in range(4))
    )
    assert sorted(len(claim) for claim in claims) == [0, 0, 0, 1]
    first = next(claim[0] for claim in claims if claim)
    assert first.attempts == 1

    after = LATER + timedelta(seconds=1)
    (taken,) = await store.deliveries.claim(
        "p9", now=after, lease_until=after + timedelta(minutes=1), limit=5
    )
    assert (taken.id, taken.attempts) == (first.id, 2)
    owner = next(f"p{index}" for index, claim in enumerate(claims) if claim)
    assert not await store.deliveries.record_attempt(
        first.id, owner, AttemptResult(True, 200), now=after, next_try=None
    )
    assert await store.deliveries.record_attempt(
        first.id, "p9", AttemptResult(True, 200), now=after, next_try=None
    )
    (shown,), _ = await store.deliveries.list_deliveries(webhook.id, offset=0, limit=10)
    assert (shown.status, shown.attempts, shown.response_status) == (DeliveryStatus.SUCCESS, 2, 200)
    assert [attempt.response_status for attempt in shown.history] == [200]


async def test_every_attempt_is_recorded_until_the_delivery_fails(store: Store) -> None:
    webhook = await store.webhooks.add(a_webhook())
    execution = await an_ended_execution(store)
    await store.deliveries.enqueue(
        [Mark(webhook.id, execution.id)], [a_delivery(webhook, execution)], now=NOW
    )

    (delivery,) = await store.deliveries.claim("p", now=NOW, lease_until=LATER, limit=5)
    failure = AttemptResult(False, 503, "the receiver answered HTTP 503")
    assert await store.deliveries.record_attempt(delivery.id, "p", failure, now=NOW, next_try=LATER)
    assert await store.deliveries.claim("p", now=NOW, lease_until=LATER, limit=5) == []
    (again,) = await store.deliveries.claim("p", now=LATER, lease_until=LATER + timedelta(minutes=1), limit=5)
    refused = AttemptResult(False, 401, "the receiver answered HTTP 401", retryable=False)
    assert await store.deliveries.record_attempt(again.id, "p", refused, now=LATER, next_try=None)

    (shown,), _ = await store.deliveries.list_deliveries(webhook.id, offset=0, limit=10)
    assert (shown.status, shown.attempts, shown.last_error) == (
        DeliveryStatus.FAILED,
        2,
        "the receiver answered HTTP 401",
    )
    assert [(item.time, item.response_status) for item in shown.history] == [(NOW, 503), (LATER, 401)]


async def test_deliveries_of_a_disabled_policy_wait(store: Store) -> None:
    webhook = await store.webhooks.add(a_webhook())
    execution = await an_ended_execution(store)
    await store.deliveries.enqueue(
        [Mark(webhook.id, execution.id)], [a_delivery(webhook, execution)], now=NOW
    )
    await store.webhooks.update(replace(webhook, enabled=False))
    assert await store.deliveries.claim("p", now=LATER, lease_until=LATER, limit=5) == []


async def test_deleting_a_policy_deletes_its_delivery_log(store: Store) -> None:
    webhook = await store.webhooks.add(a_webhook())
    execution = await an_ended_execution(store)
    await store.deliveries.enqueue(
        [Mark(webhook.id, execution.id)], [a_delivery(webhook, execution)], now=NOW
    )
    await store.webhooks.delete(webhook.id)
    assert await store.deliveries.list_deliveries(webhook.id, offset=0, limit=10) == ([], 0)
