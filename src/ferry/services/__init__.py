"""What the front ends (the REST API and the web UI) call: one bundle of the services, built once
by the composition root (``ferry.server``) and handed to both, and the operations both offer
(``registries``, ``webhooks``). Neither front end calls the other; both call these."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ferry.auth.authenticator import Authenticator
from ferry.jobs.events import EventProcessor
from ferry.jobs.health import PingOutcome
from ferry.jobs.service import ReplicationService
from ferry.notify.notifier import Notifier
from ferry.replication.domain.registry import Registry
from ferry.store import Store

if TYPE_CHECKING:  # the Prometheus client is imported by ferry serve only (it is slow to import)
    from ferry.jobs.metrics import Metrics


@dataclass(frozen=True)
class Services:
    store: Store
    service: ReplicationService
    authenticator: Authenticator
    local_registry: Registry | None
    clock: Callable[[], datetime]
    ping: Callable[[Registry], Awaitable[PingOutcome]]
    version: str
    metrics: Metrics | None = None
    """Served at ``/metrics``; None answers 404 there."""
    metrics_sign_in: bool = False
    """``/metrics`` asks for the API's sign-in (``ferry serve --metrics-auth``)."""
    notify_token: str | None = field(default=None, repr=False)
    """The shared secret of the event receivers (``<data dir>/notify.token``); None refuses every event."""
    events: EventProcessor | None = None
    """Where the event receivers hand their events; None answers 503 there."""
    notifier: Notifier | None = None
    """Outgoing webhooks (the test-event action); None makes a notifier per request."""
