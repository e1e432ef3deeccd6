"""Received events: recorded once per key, pending until handled, handled exactly once together
with the executions they start (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from ferry.oci.digest import Digest
from ferry.replication.domain.events import ArtifactEvent, EventAction, EventSender
from ferry.replication.domain.execution import Phase
from ferry.replication.domain.policy import Policy, Trigger
from ferry.replication.domain.scope import EventStart, ExecutionScope
from ferry.replication.domain.status import TriggerType
from ferry.store import Store
from ferry.store.secrets import SecretBox
from tests.store.conftest import NOW, a_policy, a_registry

DIGEST = Digest("sha256", "ab" * 32)


def pushed(key: str, tag: str = "v1") -> ArtifactEvent:
    return ArtifactEvent(
        key=key,
        sender=EventSender.REGISTRY,
        action=EventAction.PUSH,
        repository="library/web",
        tag=tag,
        digest=DIGEST,
        registry_id=0,
    )


async def an_event_policy(store: Store) -> Policy:
    registry = await store.registries.add(a_registry())
    return await store.policies.add(
        replace(a_policy("on-push", dest=registry.id), trigger=Trigger(TriggerType.EVENT_BASED))
    )


async def test_a_redelivered_event_is_recorded_once(store: Store) -> None:
    first = await store.events.record([pushed("registry:1"), pushed("registry:2", "v2")], now=NOW)
    again = await store.events.record([pushed("registry:1"), pushed("registry:3", "v3")], now=NOW)

    assert [event.key for event in first] == ["registry:1", "registry:2"]
    assert [event.key for event in again] == ["registry:3"]
    pending = await store.events.pending()
    assert [item.event for item in pending] == [
        pushed("registry:1"),
        pushed("registry:2", "v2"),
        pushed("registry:3", "v3"),
    ]
    assert pending[0].received_time == NOW


async def test_handling_starts_the_scoped_executions_and_clears_the_pending_events(store: Store) -> None:
    policy = await an_event_policy(store)
    await store.events.record([pushed("registry:1"), pushed("registry:2", "v2")], now=NOW)
    pending = await store.events.pending()
    scope = ExecutionScope(EventAction.PUSH, "library/web", ("v1", "v2"))

    started = await store.events.handle(
        [item.id for item in pending], [EventStart(policy, scope)], ["took v1", "took v2"], now=NOW
    )

    assert started is not None
    [execution] = started
    assert (execution.trigger, execution.phase, execution.scope) == (
        TriggerType.EVENT_BASED,
        Phase.PLANNING,
        scope,
    )
    assert (await store.executions.get(execution.id)).scope == scope
    assert await store.events.pending() == []
    found = await store.events.find("registry:2")
    assert found == (pushed("registry:2", "v2"), "took v2")


async def test_two_processes_handling_the_same_events_start_their_executions_once(
    store: Store, database_url: str, secrets: SecretBox
) -> None:
    policy = await an_event_policy(store)
    await store.events.record([pushed("registry:1")], now=NOW)
    ids = [item.id for item in await store.events.pending()]
    start = EventStart(policy, ExecutionScope(EventAction.PUSH, "library/web", ("v1",)))
    other = await Store.open(database_url, secrets)
    try:
        results = await asyncio.gather(
            store.events.handle(ids, [start], ["a"], now=NOW),
            other.events.handle(ids, [start], ["b"], now=NOW),
        )
    finally:
        await other.close()

    assert sorted(len(result) if result is not None else -1 for result in results) == [-1, 1]
    _, total = await store.executions.list_executions()
    assert total == 1


async def test_handled_events_are_purged_after_their_time(store: Store) -> None:
    await store.events.record([pushed("registry:1"), pushed("registry:2", "v2")], now=NOW)
    [first, _] = await store.events.pending()
    assert await store.events.handle([first.id], [], ["nothing"], now=NOW) == []

    assert await store.events.purge(handled_before=NOW) == 0
    assert await store.events.purge(handled_before=NOW + timedelta(seconds=1)) == 1

    assert await store.events.find("registry:1") is None
    assert [item.event.key for item in await store.events.pending()] == ["registry:2"]
