"""``Endpoint``: one registry as a provider sees it — kind, URL, credential, TLS and settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ferry.distribution.options import Credentials
from ferry.providers.kinds import RegistryType
from ferry.providers.settings import ProviderSettings


@dataclass(frozen=True)
class Endpoint:
    kind: RegistryType
    url: str
    """``scheme://host[:port]``, as the user wrote it (normalised)."""
    credentials: Credentials | None = None
    insecure: bool = False
    ca_pem: str | None = field(default=None, repr=False)
    settings: ProviderSettings = field(default_factory=ProviderSettings)
    name: str = ""
    """The endpoint's name, for messages."""

    @property
    def host(self) -> str:
        """``host[:port]`` of the URL."""
        return urlsplit(self.url).netloc

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def label(self) -> str:
        return self.name or self.host
