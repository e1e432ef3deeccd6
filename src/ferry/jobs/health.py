"""Registry health: "test connection" for one endpoint, and the periodic refresh of every
endpoint's ``status`` (Harbor's ``healthy``/``unhealthy``).

A ping is what ``docker login`` does: ``GET /v2/`` and, for a Bearer registry, one token request,
so wrong credentials show up here rather than in the middle of a replication. It is deliberately
quick (two attempts, short timeouts): a person is waiting for the answer.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from ferry.distribution.options import RetryPolicy, Timeouts
from ferry.errors import Denied, FerryError, NotFound, Unauthorized, Unavailable
from ferry.jobs.clients import connect
from ferry.providers.base import UNAUTHORIZED_HINT
from ferry.replication.domain.registry import Registry, RegistryStatus
from ferry.store import Store

PING_RETRY = RetryPolicy(attempts=2, base_delay=0.2, max_delay=1.0, max_retry_after=2.0)
PING_TIMEOUTS = Timeouts(connect=5.0, idle=10.0)
DEFAULT_REFRESH_SECONDS = 300.0

log = logging.getLogger("ferry.health")


@dataclass(frozen=True)
class PingOutcome:
    healthy: bool
    reason: str = ""
    """Harbor's short word for what failed: ``unauthorized``, ``unreachable``, ..."""
    hint: str = ""

    @property
    def status(self) -> RegistryStatus:
        return RegistryStatus.HEALTHY if self.healthy else RegistryStatus.UNHEALTHY

    @property
    def message(self) -> str:
        """The sentence the guide quotes, ``Failed to ping endpoint: unauthorized``, and the fix."""
        if self.healthy:
            return "the endpoint answers and the credentials work"
        text = f"Failed to ping endpoint: {self.reason}"
        return f"{text} ({self.hint})" if self.hint else text


async def ping_registry(registry: Registry) -> PingOutcome:
    """Whether ``registry`` answers as a registry and accepts its credential; never raises for
    a registry's own failure."""
    hint = UNAUTHORIZED_HINT
    try:
        async with connect(
            registry, max_connections=2, retry=PING_RETRY, timeouts=PING_TIMEOUTS
        ) as connection:
            hint = connection.provider.unauthorized_hint
            await connection.provider.check(connection.client)
    except Unauthorized as exc:
        if exc.message == "USER_NOT_EXIST":  # ACR: an account that never opened the registry
            return PingOutcome(False, "unauthorized", f"USER_NOT_EXIST: {exc.hint}")
        return PingOutcome(False, "unauthorized", hint)
    except Denied:
        return PingOutcome(False, "denied", "the account may sign in but is not allowed to use the registry")
    except NotFound as exc:
        return PingOutcome(False, "not a registry", exc.hint or "check the URL")
    except Unavailable as exc:
        return PingOutcome(False, "unreachable", _unreachable_hint(exc))
    except FerryError as exc:
        return PingOutcome(False, exc.message, exc.hint or "")
    return PingOutcome(True)


def _unreachable_hint(exc: Unavailable) -> str:
    text = str(exc).lower()
    if "certificate" in text or "ssl" in text or "tls" in text:
        return (
            "the TLS certificate could not be verified: add the registry's CA certificate, or turn "
            "Verify Remote Cert off for this endpoint if you trust the network"
        )
    return "check the URL, the port, DNS and any firewall between ferry and the registry"


async def check_registry(store: Store, registry: Registry) -> PingOutcome:
    """Ping ``registry`` and record its status."""
    outcome = await ping_registry(registry)
    await store.registries.set_status(registry.id, outcome.status)
    return outcome


async def refresh_health_forever(store: Store, *, every_seconds: float = DEFAULT_REFRESH_SECONDS) -> None:
    """Re-check every stored registry now and then, a few at a time, until cancelled."""
    limit = asyncio.Semaphore(4)

    async def check(registry: Registry) -> None:
        async with limit:
            outcome = await check_registry(store, registry)
            if not outcome.healthy:
                log.info("registry %r is unhealthy: %s", registry.name, outcome.message)

    while True:
        try:
            registries = await store.registries.list_registries()
            await asyncio.gather(*(check(registry) for registry in registries))
        except FerryError as exc:
            log.warning("registry health refresh failed: %s", exc)
        await asyncio.sleep(every_seconds)
