"""What every route needs, bundled once by the composition root and reached through FastAPI
dependencies (never a module-level singleton)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from ferry.api.security import Authenticator, Principal
from ferry.jobs.events import EventProcessor
from ferry.jobs.health import PingOutcome
from ferry.jobs.service import ReplicationService
from ferry.notify.notifier import Notifier
from ferry.replication.domain.registry import Registry
from ferry.store import Store

if TYPE_CHECKING:  # the Prometheus client is imported by ferry serve only (it is slow to import)
    from ferry.jobs.metrics import Metrics


@dataclass(frozen=True)
class ApiContext:
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


def api_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.ferry
    return context


Context = Annotated[ApiContext, Depends(api_context)]


async def signed_in(request: Request, context: Context) -> Principal:
    client = request.client.host if request.client else "unknown"
    return await context.authenticator.authenticate(request.headers.get("authorization"), client)


SignedIn = Annotated[Principal, Depends(signed_in)]
