"""Registry clients for stored registry endpoints."""

from __future__ import annotations

from urllib.parse import urlsplit

from ferry.distribution.client import RegistryClient
from ferry.distribution.observe import RequestObserver
from ferry.distribution.options import Credentials, RegistryOptions, RetryPolicy, Timeouts
from ferry.replication.domain.registry import Registry


def registry_host(registry: Registry) -> str:
    """``host[:port]`` of the endpoint: the registry part of its image references."""
    return urlsplit(registry.url).netloc


def client_for_registry(
    registry: Registry,
    *,
    max_connections: int = 32,
    retry: RetryPolicy | None = None,
    timeouts: Timeouts | None = None,
    observer: RequestObserver | None = None,
) -> RegistryClient:
    """A client for ``registry``: its credential, TLS settings, and plain HTTP only for an
    ``http://`` URL (an ``https://`` loopback URL still falls back to HTTP, as docker does);
    ``observer`` is told about its requests and retries (the service's metrics)."""
    scheme = urlsplit(registry.url).scheme
    credential = registry.credential
    credentials = (
        Credentials(credential.access_key, credential.access_secret)
        if credential is not None and (credential.access_key or credential.access_secret)
        else None
    )
    options = RegistryOptions(
        credentials=credentials,
        insecure=registry.insecure,
        ca_pem=registry.ca_certificate,
        plain_http=True if scheme == "http" else None,
        max_connections=max_connections,
        retry=retry or RetryPolicy(),
        timeouts=timeouts or Timeouts(),
        observer=observer,
    )
    return RegistryClient(registry_host(registry), options)
