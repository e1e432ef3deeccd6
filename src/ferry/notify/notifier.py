"""The notifier ``ferry serve`` runs: the outbox loop and the delivery loop side by side, and the
"send a test event" action of the API and the web UI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ferry.notify.delivery import Sender, SenderSettings, send
from ferry.notify.events import trial_announcement
from ferry.notify.outbox import Outbox
from ferry.notify.payloads import render
from ferry.replication.domain.registry import Registry
from ferry.replication.domain.webhooks import AttemptResult, WebhookPolicy, WebhookTarget
from ferry.store import Store

log = logging.getLogger("ferry.notify")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class NotifierSettings:
    poll_seconds: float = 1.0
    """How often the outbox looks for ended executions and the sender for due deliveries."""
    batch: int = 50
    """Executions (and tasks) per policy looked at in one round."""
    sender: SenderSettings = field(default_factory=SenderSettings)


@dataclass(frozen=True)
class TargetCheck:
    """How the test event went at one target."""

    target: WebhookTarget
    result: AttemptResult


class Notifier:
    def __init__(
        self,
        store: Store,
        *,
        local_registry: Registry | None,
        hostname: str,
        settings: NotifierSettings = NotifierSettings(),
        owner: str | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._hostname = hostname
        self._settings = settings
        self._clock = clock
        self._outbox = Outbox(
            store, local_registry=local_registry, hostname=hostname, clock=clock, batch=settings.batch
        )
        owner = owner or f"{socket.gethostname()}:{os.getpid()}:notify"
        self._sender = Sender(store, settings.sender, owner=owner, clock=clock)
        self._outbox_wake = asyncio.Event()
        self._sender_wake = asyncio.Event()

    async def run(self) -> None:
        """Both loops, until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(
                self._forever("webhook outbox", self._collect, self._outbox_wake), name="ferry-webhook-outbox"
            )
            group.create_task(
                self._forever("webhook delivery", self._sender.send_due, self._sender_wake),
                name="ferry-webhook-sender",
            )

    def wake(self) -> None:
        """Look for ended executions and due deliveries now."""
        self._outbox_wake.set()
        self._sender_wake.set()

    async def send_test_event(self, webhook: WebhookPolicy) -> list[TargetCheck]:
        """Send a test event to every target of ``webhook`` now (not queued, not retried)."""
        announcement = trial_announcement(webhook, hostname=self._hostname, now=self._clock())
        timeout = self._settings.sender.timeout

        async def attempt(target: WebhookTarget) -> TargetCheck:
            body = render(target, announcement, policy_id=webhook.id)
            return TargetCheck(target, await send(target, body, timeout_seconds=timeout))

        return list(await asyncio.gather(*(attempt(target) for target in webhook.targets)))

    async def _collect(self) -> int:
        handled = await self._outbox.collect()
        if handled:
            self._sender_wake.set()  # new deliveries are due now
        return handled

    async def _forever(self, what: str, step: Callable[[], Awaitable[int]], wake: asyncio.Event) -> None:
        while True:
            wake.clear()
            try:
                busy = await step()
            except Exception:  # the loop's edge: a database hiccup must not end notifications
                log.exception("%s round failed; trying again", what)
                busy = 0
            if busy:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self._settings.poll_seconds)
