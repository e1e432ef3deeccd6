"""``RegistryProvider``: the seam for what differs between registry kinds.

The generic provider is the OCI distribution API and nothing else (``docker-registry``: the CNCF
distribution registry, and any registry without a provider of its own). A kind with quirks
subclasses it and overrides only what differs:

- where the registry API lives and how to sign in (``registry_host``, ``options``);
- preparing a destination before the first push (``prepare_repository``: ACR namespaces, Harbor
  projects);
- what the destination accepts (``content_rules``);
- listing a source (``list_repositories``, ``list_artifacts``) where ``/v2/_catalog`` is missing or
  says too little;
- deleting a tag the registry API cannot delete (``delete_tag``);
- the health check and what its failures mean (``check``, ``unauthorized_hint``).

A provider is made for one run (an execution, a health check, a listing) and closed after it:
it may hold a vendor API client and remember what it prepared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from ferry.distribution.client import RegistryClient
from ferry.distribution.observe import RequestObserver
from ferry.distribution.options import RegistryOptions, RetryPolicy, Timeouts
from ferry.oci.digest import Digest
from ferry.providers.content import NO_RULES, ContentRules
from ferry.providers.endpoint import Endpoint
from ferry.providers.kinds import RegistryType

UNAUTHORIZED_HINT = (
    "check the Access ID and Access Secret; for Alibaba Cloud ACR use the account name and the fixed "
    "password set under Instance > Access Credential, not the console password"
)


@dataclass(frozen=True)
class ListedArtifact:
    """An artifact as a provider's own API lists it: every tag, and its Harbor labels."""

    digest: Digest
    tags: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClientSettings:
    """How many connections, which retries and timeouts a caller wants for this run."""

    max_connections: int = 32
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeouts: Timeouts = field(default_factory=Timeouts)
    observer: RequestObserver | None = None


class RegistryProvider:
    kind: ClassVar[RegistryType] = RegistryType.DOCKER_REGISTRY
    display_name: ClassVar[str] = "Docker Registry"

    def __init__(self, endpoint: Endpoint, client_settings: ClientSettings | None = None) -> None:
        self.endpoint = endpoint
        self.client_settings = client_settings or ClientSettings()

    @property
    def registry_host(self) -> str:
        """``host[:port]`` that serves ``/v2/``: the registry part of image references."""
        return self.endpoint.host

    def options(self) -> RegistryOptions:
        settings = self.client_settings
        return RegistryOptions(
            credentials=self.endpoint.credentials,
            insecure=self.endpoint.insecure,
            ca_pem=self.endpoint.ca_pem,
            plain_http=True if self.endpoint.scheme == "http" else None,
            max_connections=settings.max_connections,
            retry=settings.retry,
            timeouts=settings.timeouts,
            observer=settings.observer,
        )

    def client(self) -> RegistryClient:
        """A registry client for this endpoint (an ``https://`` loopback URL still falls back to
        plain HTTP, as docker does; an ``http://`` URL is plain HTTP)."""
        return RegistryClient(self.registry_host, self.options())

    async def aclose(self) -> None:
        """Close what the provider opened besides registry clients (vendor API sessions)."""

    # -- as a destination ------------------------------------------------------------------
    @property
    def content_rules(self) -> ContentRules:
        if self.endpoint.settings.drop_attestations:
            return ContentRules(drop_attestations=True, registry_kind=self.display_name)
        return NO_RULES

    async def prepare_repository(self, client: RegistryClient, repository: str) -> str | None:
        """Make ``repository`` ready to receive pushes; a line for the task log when something
        was checked or created. Raises what makes pushing there impossible."""
        return None

    async def delete_tag(self, client: RegistryClient, repository: str, tag: str) -> bool:
        """Delete only ``tag`` through a vendor API; False when the registry API must do it."""
        return False

    # -- as a source -----------------------------------------------------------------------
    async def list_repositories(self, client: RegistryClient, namespaces: Sequence[str]) -> list[str]:
        """Every repository of the source. ``namespaces`` are the literal first path components of
        the policy's name filters (empty when a filter does not fix one): providers without a
        catalog list those."""
        return sorted({name async for name in client.list_repositories()})

    async def list_artifacts(self, client: RegistryClient, repository: str) -> list[ListedArtifact] | None:
        """Every artifact of ``repository`` with its tags and labels, when the provider's API
        knows them (Harbor: untagged artifacts and Harbor labels too); None: read the tags."""
        return None

    # -- health ----------------------------------------------------------------------------
    async def check(self, client: RegistryClient) -> None:
        """What "test connection" checks: the registry answers and the credential works."""
        await client.ping()

    @property
    def unauthorized_hint(self) -> str:
        return UNAUTHORIZED_HINT
