"""The outbox: finds what ended since each enabled webhook policy last looked and queues one
delivery per target for each event the policy selects.

For every enabled policy, each round:

1. with REPLICATION selected, tasks that ended in executions still running: one event per task;
2. executions that ended: the remaining task events (REPLICATION) and the execution's event
   (``events.execution_event_type``), queued with the execution's mark in one transaction.

Only what ended after the policy was created (or last enabled) is announced, and never dry runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from ferry.errors import FerryError, RecordNotFound
from ferry.notify.events import (
    Announcement,
    ReplicationFacts,
    execution_announcement,
    execution_event_type,
    task_announcement,
)
from ferry.notify.payloads import render
from ferry.replication.domain.registry import LOCAL_REGISTRY_ID, LOCAL_REGISTRY_NAME, Registry, RegistryType
from ferry.replication.domain.webhooks import EventType, NewDelivery, WebhookPolicy
from ferry.store import Store
from ferry.store.tasks import TaskQuery
from ferry.store.webhook_deliveries import Mark

log = logging.getLogger("ferry.notify")

_ALL_TASKS = 1_000_000


class Outbox:
    def __init__(
        self,
        store: Store,
        *,
        local_registry: Registry | None,
        hostname: str,
        clock: Callable[[], datetime],
        batch: int = 50,
    ) -> None:
        self._store = store
        self._local = local_registry
        self._hostname = hostname
        self._clock = clock
        self._batch = batch
        self._unreadable: set[int] = set()

    async def collect(self) -> int:
        """One round over every enabled policy; how many executions and tasks were dealt with."""
        finished: dict[int, ReplicationFacts] = {}
        handled = 0
        for webhook, since in await self._store.webhooks.enabled_policies():
            if webhook.selects(EventType.REPLICATION):
                handled += await self._announce_tasks(webhook, since)
            for execution_id in await self._store.deliveries.executions_to_announce(
                webhook.id, since=since, limit=self._batch
            ):
                handled += await self._announce_execution(webhook, since, execution_id, finished)
        return handled

    async def _announce_tasks(self, webhook: WebhookPolicy, since: datetime) -> int:
        """REPLICATION events for the tasks that ended in executions still running."""
        ended: dict[int, list[int]] = {}
        for execution_id, task_id in await self._store.deliveries.tasks_to_announce(
            webhook.id, since=since, limit=self._batch
        ):
            ended.setdefault(execution_id, []).append(task_id)
        handled = 0
        for execution_id, task_ids in ended.items():
            known = await self._facts(execution_id, {})
            if known is None:
                continue
            for task_id in task_ids:
                marks = [Mark(webhook.id, execution_id, task_id)]
                handled += await self._enqueue(marks, _task_deliveries(webhook, known, [task_id]))
        return handled

    async def _announce_execution(
        self, webhook: WebhookPolicy, since: datetime, execution_id: int, cache: dict[int, ReplicationFacts]
    ) -> int:
        known = await self._facts(execution_id, cache)
        if known is None:
            return 0
        marks = [Mark(webhook.id, execution_id)]
        queued: list[NewDelivery] = []
        if webhook.selects(EventType.REPLICATION):
            remaining = [
                task_id
                for _, task_id in await self._store.deliveries.tasks_to_announce(
                    webhook.id, since=since, limit=_ALL_TASKS, execution_id=execution_id
                )
            ]
            marks.extend(Mark(webhook.id, execution_id, task_id) for task_id in remaining)
            queued.extend(_task_deliveries(webhook, known, remaining))
        event_type = execution_event_type(webhook, known.execution)
        if event_type is not None:
            announcement = execution_announcement(event_type, known)
            queued.extend(_deliveries(webhook, announcement, event_type, execution_id, 0))
        return await self._enqueue(marks, queued)

    async def _enqueue(self, marks: list[Mark], queued: list[NewDelivery]) -> int:
        if await self._store.deliveries.enqueue(marks, queued, now=self._clock()):
            return len(marks)
        return 0

    async def _facts(self, execution_id: int, cache: dict[int, ReplicationFacts]) -> ReplicationFacts | None:
        """The execution with its tasks, its policy and both registries; None when it is gone
        (retention deleted it meanwhile). Finished executions are kept in ``cache``."""
        known = cache.get(execution_id)
        if known is not None:
            return known
        store = self._store
        try:
            execution = await store.executions.get(execution_id)
            tasks, _ = await store.tasks.list_tasks(TaskQuery(execution_id, offset=0, limit=_ALL_TASKS))
            policy = await store.policies.get(execution.policy_id)
            source = await self._registry(policy.src_registry_id)
            destination = await self._registry(policy.dest_registry_id)
        except RecordNotFound:
            return None
        except FerryError as exc:  # a registry secret the key cannot open: say so once, not every round
            if execution_id not in self._unreadable:
                self._unreadable.add(execution_id)
                log.warning("execution %s cannot be announced yet: %s", execution_id, exc)
            return None
        known = ReplicationFacts(
            execution=execution,
            tasks=tuple(tasks),
            policy=policy,
            source=source,
            destination=destination,
            hostname=self._hostname,
        )
        if execution.is_finished:
            cache[execution_id] = known
        return known

    async def _registry(self, registry_id: int) -> Registry:
        if registry_id != LOCAL_REGISTRY_ID:
            return await self._store.registries.get(registry_id)
        if self._local is not None:
            return self._local
        now = self._clock()
        return Registry(
            id=LOCAL_REGISTRY_ID,
            name=LOCAL_REGISTRY_NAME,
            type=RegistryType.DOCKER_REGISTRY,
            url="",
            creation_time=now,
            update_time=now,
        )


def _task_deliveries(
    webhook: WebhookPolicy, facts: ReplicationFacts, task_ids: list[int]
) -> list[NewDelivery]:
    tasks = {task.id: task for task in facts.tasks}
    queued: list[NewDelivery] = []
    for task_id in task_ids:
        task = tasks.get(task_id)
        if task is not None:
            announcement = task_announcement(task, facts)
            queued.extend(
                _deliveries(webhook, announcement, EventType.REPLICATION, task.execution_id, task_id)
            )
    return queued


def _deliveries(
    webhook: WebhookPolicy, announcement: Announcement, event_type: EventType, execution_id: int, task_id: int
) -> list[NewDelivery]:
    return [
        NewDelivery(
            policy_id=webhook.id,
            target_index=index,
            target=target,
            event_type=event_type,
            execution_id=execution_id,
            task_id=task_id,
            payload=render(target, announcement, policy_id=webhook.id),
        )
        for index, target in enumerate(webhook.targets)
    ]
