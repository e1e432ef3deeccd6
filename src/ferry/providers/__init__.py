"""Registry providers: what differs between registry kinds, behind ``RegistryProvider``.

``provider_for`` picks the provider of an endpoint's kind; kinds without quirks ferry knows of use
the generic OCI provider. Providers sit between the replication domain and the distribution
client: they speak HTTP only through ``ferry.distribution`` (the registry client, and
``VendorApi`` for management APIs).
"""

from __future__ import annotations

from ferry.providers.acr.hosts import recognise_host
from ferry.providers.acr.provider import AcrProvider
from ferry.providers.base import ClientSettings, ListedArtifact, RegistryProvider
from ferry.providers.content import NO_RULES, ContentRules
from ferry.providers.dockerhub import DockerHubProvider
from ferry.providers.endpoint import Endpoint
from ferry.providers.harbor import HarborProvider
from ferry.providers.kinds import RegistryType

__all__ = [
    "ClientSettings",
    "Endpoint",
    "ListedArtifact",
    "RegistryProvider",
    "content_rules_for_host",
    "provider_for",
]

_PROVIDERS: dict[RegistryType, type[RegistryProvider]] = {
    RegistryType.ALI_ACR: AcrProvider,
    RegistryType.HARBOR: HarborProvider,
    RegistryType.DOCKER_HUB: DockerHubProvider,
}


def provider_for(endpoint: Endpoint, client_settings: ClientSettings | None = None) -> RegistryProvider:
    return _PROVIDERS.get(endpoint.kind, RegistryProvider)(endpoint, client_settings)


def content_rules_for_host(host: str) -> ContentRules:
    """What a registry accepts, known from its host name alone (``ferry copy``/``sync`` have no
    endpoint kind): Alibaba ACR's hosts get ACR's rules."""
    if recognise_host(host) is not None:
        return ContentRules(
            refuse_empty_config=True, drop_attestations=True, registry_kind=AcrProvider.display_name
        )
    return NO_RULES
