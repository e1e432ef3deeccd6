"""Event-based replication: the receivers record events (``receive``); this processor turns the
pending ones into executions.

The receivers answer as soon as the events are saved; the processor waits ``settle_seconds`` after
the oldest pending event so that what arrives together is handled together — several tags of one
image pushed in quick succession become one execution per policy and repository that copies all of
them, and a manifest deletion and the tag deletions the registry reports with it become one. With
the default half second, the execution starts well within a second of the push.

Events are saved before the receiver answers and marked handled in the transaction that starts
their executions (``EventStore.handle``), so an event that arrives just before a crash is handled
after the restart, and with several ferry processes each event is handled once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import urlsplit

from ferry.errors import FerryError
from ferry.jobs.context import Clock, utc_now
from ferry.jobs.service import ReplicationService
from ferry.replication.domain.events import ArtifactEvent, normalize_source_host
from ferry.replication.domain.execution import Execution
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.registry import LOCAL_REGISTRY_ID
from ferry.replication.domain.scope import decide
from ferry.replication.domain.status import TriggerType
from ferry.store.events import ReceivedEvent

log = logging.getLogger("ferry.events")

HANDLED_EVENTS_KEPT = timedelta(days=7)
"""How long a handled event's key is kept to recognise a redelivery."""


class EventProcessor:
    def __init__(
        self,
        service: ReplicationService,
        *,
        settle_seconds: float = 0.5,
        poll_seconds: float = 5.0,
        clock: Clock = utc_now,
    ) -> None:
        self._service = service
        self._store = service.store
        self._settle = settle_seconds
        self._poll = poll_seconds
        self._clock = clock
        self._wake = asyncio.Event()

    async def receive(self, events: Sequence[ArtifactEvent]) -> list[ArtifactEvent]:
        """Save the events; those not seen before (a redelivered event is acknowledged, not acted on)."""
        new = await self._store.events.record(events, now=self._clock())
        if new:
            self._wake.set()
        return new

    async def run(self) -> None:
        """Handle pending events until cancelled: those received here (woken at once), and those of
        other processes or left by a crash (found by polling)."""
        purged_at = self._clock() - HANDLED_EVENTS_KEPT
        while True:
            self._wake.clear()
            try:
                pending = await self._store.events.pending()
                if pending:
                    wait = self._settle - (self._clock() - pending[0].received_time).total_seconds()
                    if wait > 0:
                        await asyncio.sleep(wait)
                        continue
                    await self.handle(pending)
                    continue
                if self._clock() - purged_at > timedelta(hours=1):
                    purged_at = self._clock()
                    await self._store.events.purge(handled_before=purged_at - HANDLED_EVENTS_KEPT)
            except FerryError as exc:
                log.error("handling events failed: %s", exc)
            except Exception:  # the loop's edge: a bug or a database hiccup must not end event handling
                log.exception("handling events failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    async def handle(self, pending: Sequence[ReceivedEvent]) -> list[Execution]:
        """Start the executions the events call for and mark them handled; the executions started."""
        policies = [
            policy
            for policy in await self._store.policies.list_policies()
            if policy.enabled and policy.trigger.type is TriggerType.EVENT_BASED
        ]
        hosts = {policy.id: await self._source_host(policy) for policy in policies}

        def is_source(policy: Policy, event: ArtifactEvent) -> bool:
            if event.registry_id is not None:
                return policy.src_registry_id == event.registry_id
            return event.source_host is not None and hosts[policy.id] == event.source_host

        events = [item.event for item in pending]
        decision = decide(policies, events, is_source=is_source)
        started = await self._store.events.handle(
            [item.id for item in pending], decision.starts, decision.outcomes, now=self._clock()
        )
        if started is None:
            return []  # another process handled them first
        for outcome in decision.outcomes:
            log.info("event %s", outcome)
        for execution, start in zip(started, decision.starts, strict=True):
            log.info(
                "execution %s of rule %r started for the %s",
                execution.id,
                start.policy.name,
                start.scope.describe(),
            )
        if started:
            self._service.dispatcher.wake()
        return started

    async def _source_host(self, policy: Policy) -> str | None:
        if policy.src_registry_id == LOCAL_REGISTRY_ID:
            local = self._service.local_registry
            return None if local is None else _host(local.url)
        try:
            return _host((await self._store.registries.get(policy.src_registry_id)).url)
        except FerryError:
            return None


def _host(url: str) -> str:
    parts = urlsplit(url)
    return normalize_source_host(parts.netloc, scheme=parts.scheme)
