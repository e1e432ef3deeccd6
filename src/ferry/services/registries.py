"""Registry endpoints as both front ends change them: every save tests the connection and records
the registry's health, and a test of a stored endpoint records it only when what was tested is
what is stored."""

from __future__ import annotations

from ferry.jobs.health import PingOutcome
from ferry.replication.domain.registry import Registry, validate_registry
from ferry.services import Services


async def create_registry(services: Services, registry: Registry) -> Registry:
    """Store a new endpoint (an unreachable one too, as ``unhealthy``) with its health."""
    registry = validate_registry(registry)
    outcome = await services.ping(registry)
    created = await services.store.registries.add(registry)
    await services.store.registries.set_status(created.id, outcome.status)
    return created


async def update_registry(services: Services, changed: Registry) -> Registry:
    """Replace the stored endpoint ``changed.id`` and record its health."""
    changed = validate_registry(changed)
    outcome = await services.ping(changed)
    updated = await services.store.registries.update(changed)
    await services.store.registries.set_status(updated.id, outcome.status)
    return updated


async def check_connection(services: Services, registry: Registry, stored: Registry | None) -> PingOutcome:
    """Ping ``registry``: a new endpoint, or ``stored`` with some fields changed in a form."""
    registry = validate_registry(registry)
    outcome = await services.ping(registry)
    if stored is not None and _same_endpoint(registry, stored):
        # only a ping of what is stored says how the stored registry is; one with other
        # credentials or another URL (a form being edited) says nothing about it
        await services.store.registries.set_status(stored.id, outcome.status)
    return outcome


def _same_endpoint(pinged: Registry, stored: Registry) -> bool:
    def endpoint(registry: Registry) -> tuple[object, ...]:
        return (registry.url, registry.credential, registry.insecure, registry.ca_certificate)

    return endpoint(pinged) == endpoint(stored)
