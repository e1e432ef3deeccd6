"""Registry providers: what differs between registry kinds, behind ``RegistryProvider``.

``provider_for`` picks the provider of an endpoint's kind; kinds without quirks ferry knows of use
the generic OCI provider. Providers sit between the replication domain and the distribution
client: they speak HTTP only through ``ferry.distribution`` (the registry client, and
``VendorApi`` for management APIs). The kind-specific modules are imported when a provider of
their kind is made, so ``ferry copy``/``ferry sync`` never pay for them at start-up.
"""

from __future__ import annotations

from ferry.providers.acr.hosts import ACR_DISPLAY_NAME, recognise_host
from ferry.providers.base import ClientSettings, ListedArtifact, RegistryProvider
from ferry.providers.content import NO_RULES, ContentRules
from ferry.providers.endpoint import Endpoint
from ferry.providers.kinds import RegistryType

__all__ = [
    "ClientSettings",
    "Endpoint",
    "ListedArtifact",
    "RegistryProvider",
    "content_rules_for_host",
    "provider_for",
]


def provider_for(endpoint: Endpoint, client_settings: ClientSettings | None = None) -> RegistryProvider:
    kind: type[RegistryProvider] = RegistryProvider
    if endpoint.kind is RegistryType.ALI_ACR:
        from ferry.providers.acr.provider import AcrProvider

        kind = AcrProvider
    elif endpoint.kind is RegistryType.HARBOR:
        from ferry.providers.harbor import HarborProvider

        kind = HarborProvider
    elif endpoint.kind is RegistryType.DOCKER_HUB:
        from ferry.providers.dockerhub import DockerHubProvider

        kind = DockerHubProvider
    return kind(endpoint, client_settings)


def content_rules_for_host(host: str) -> ContentRules:
    """What a registry accepts, known from its host name alone (``ferry copy``/``sync`` have no
    endpoint kind): Alibaba ACR's hosts get ACR's rules."""
    if recognise_host(host) is not None:
        return ContentRules(refuse_empty_config=True, drop_attestations=True, registry_kind=ACR_DISPLAY_NAME)
    return NO_RULES
