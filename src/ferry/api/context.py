"""What every route needs, bundled once by the composition root and reached through FastAPI
dependencies (never a module-level singleton)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from ferry.api.security import Authenticator, Principal
from ferry.jobs.health import PingOutcome
from ferry.jobs.service import ReplicationService
from ferry.replication.domain.registry import Registry
from ferry.store import Store


@dataclass(frozen=True)
class ApiContext:
    store: Store
    service: ReplicationService
    authenticator: Authenticator
    local_registry: Registry | None
    clock: Callable[[], datetime]
    ping: Callable[[Registry], Awaitable[PingOutcome]]
    version: str


def api_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.ferry
    return context


Context = Annotated[ApiContext, Depends(api_context)]


async def signed_in(request: Request, context: Context) -> Principal:
    client = request.client.host if request.client else "unknown"
    return await context.authenticator.authenticate(request.headers.get("authorization"), client)


SignedIn = Annotated[Principal, Depends(signed_in)]
