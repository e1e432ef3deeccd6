"""How to reach one registry: credentials, TLS, plain HTTP, concurrency and retries."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ferry.distribution.observe import RequestObserver
from ferry.errors import InvalidInput


@dataclass(frozen=True)
class Credentials:
    """A user name and password (or token used as a password). Never printed."""

    username: str
    password: str = field(repr=False)

    @classmethod
    def parse(cls, text: str) -> Credentials:
        username, separator, password = text.partition(":")
        if not separator or not username:
            raise InvalidInput(
                "credentials must be written USER:PASSWORD", hint="e.g. --src-creds admin:secret"
            )
        return cls(username, password)


class CredentialSource(Protocol):
    """Credentials that change over time: Alibaba ACR's temporary registry password, which an
    AccessKey buys from the OpenAPI and which lasts about an hour."""

    async def credentials(self, *, renew: bool = False) -> Credentials:
        """The credentials to use now; ``renew`` after the registry refused the last ones."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """Per-request retries with jittered exponential backoff."""

    attempts: int = 5
    base_delay: float = 0.25
    max_delay: float = 20.0
    max_retry_after: float = 120.0


@dataclass(frozen=True)
class Timeouts:
    """Idle timeouts: a healthy transfer that keeps moving bytes is never cut off."""

    connect: float = 20.0
    idle: float = 120.0


@dataclass(frozen=True)
class RegistryOptions:
    credentials: Credentials | None = None
    insecure: bool = False
    ca_file: Path | None = None
    ca_pem: str | None = field(default=None, repr=False)
    """CA certificates in PEM form (a stored registry's ``ca_certificate``); wins over ``ca_file``."""
    plain_http: bool | None = None
    max_connections: int = 32
    retry: RetryPolicy = RetryPolicy()
    timeouts: Timeouts = Timeouts()
    user_agent: str = "ferry/0.1"
    observer: RequestObserver | None = field(default=None, compare=False, repr=False)
    """Told about every exchange and retry (the service's metrics); None for nobody."""
    credential_source: CredentialSource | None = field(default=None, compare=False, repr=False)
    """Asked for credentials when a token is needed; wins over ``credentials``."""
    pull_quota: bool = False
    """Read ``RateLimit-Remaining`` on manifest downloads and slow down before the quota runs out
    (Docker Hub counts every manifest GET as a pull; HEAD is free)."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses, with or without a port."""
    name = host
    if name.startswith("["):
        name = name[1 : name.find("]")]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
