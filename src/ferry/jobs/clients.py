"""Providers and registry clients for stored registry endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from ferry.distribution.client import RegistryClient
from ferry.distribution.observe import RequestObserver
from ferry.distribution.options import Credentials, RetryPolicy, Timeouts
from ferry.providers import ClientSettings, Endpoint, RegistryProvider, provider_for
from ferry.replication.domain.registry import Registry


def endpoint_of(registry: Registry) -> Endpoint:
    credential = registry.credential
    credentials = (
        Credentials(credential.access_key, credential.access_secret)
        if credential is not None and (credential.access_key or credential.access_secret)
        else None
    )
    return Endpoint(
        kind=registry.type,
        url=registry.url,
        credentials=credentials,
        insecure=registry.insecure,
        ca_pem=registry.ca_certificate,
        settings=registry.settings,
        name=registry.name,
    )


def provider_of(
    registry: Registry,
    *,
    max_connections: int = 32,
    retry: RetryPolicy | None = None,
    timeouts: Timeouts | None = None,
    observer: RequestObserver | None = None,
) -> RegistryProvider:
    """The provider of ``registry``'s kind; ``observer`` is told about its registry requests and
    retries (the service's metrics). Close it with ``aclose`` after use."""
    settings = ClientSettings(
        max_connections=max_connections,
        retry=retry or RetryPolicy(),
        timeouts=timeouts or Timeouts(),
        observer=observer,
    )
    return provider_for(endpoint_of(registry), settings)


def registry_host(registry: Registry) -> str:
    """``host[:port]`` serving the endpoint's ``/v2/``: the registry part of its image references."""
    return provider_of(registry).registry_host


@dataclass(frozen=True)
class Connection:
    provider: RegistryProvider
    client: RegistryClient


@asynccontextmanager
async def connect(
    registry: Registry,
    *,
    max_connections: int = 32,
    retry: RetryPolicy | None = None,
    timeouts: Timeouts | None = None,
    observer: RequestObserver | None = None,
) -> AsyncIterator[Connection]:
    """A provider and a registry client for one piece of work, both closed after it."""
    provider = provider_of(
        registry, max_connections=max_connections, retry=retry, timeouts=timeouts, observer=observer
    )
    try:
        async with provider.client() as client:
            yield Connection(provider, client)
    finally:
        await provider.aclose()
