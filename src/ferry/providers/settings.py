"""``ProviderSettings``: what an endpoint's provider needs beyond URL and credential.

Every field is optional and has a documented default, so a docker-registry endpoint carries
none, and an ACR endpoint usually none either (region and edition come from its host name and
auth challenge). They are visible settings rather than hidden behaviour: an API field, a form
field, a rule-file key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SETTING_NAMES = ("openapi_endpoint", "region", "instance_id", "create_namespace", "drop_attestations")


@dataclass(frozen=True)
class ProviderSettings:
    openapi_endpoint: str | None = None
    """Alibaba ACR: the OpenAPI base URL; default ``https://cr.<region>.aliyuncs.com`` (set
    ``https://cr-vpc.<region>.aliyuncs.com`` inside a VPC)."""
    region: str | None = None
    """Alibaba ACR: the region, when neither the host name nor the auth challenge names it."""
    instance_id: str | None = None
    """Alibaba ACR enterprise: the instance (``cri-…``); read from the auth challenge otherwise."""
    create_namespace: bool | None = None
    """Create a missing destination namespace (ACR, needs an AccessKey) or project (Harbor).
    None: the provider's default — on for Harbor (as Harbor's replication does), off for ACR."""
    drop_attestations: bool | None = None
    """Drop attestation manifests (config ``application/vnd.oci.empty.v1+json``) from indexes
    pushed to this registry, which changes the index digest. None: on for ACR (which rejects them),
    off elsewhere."""

    @property
    def is_empty(self) -> bool:
        return self == ProviderSettings()

    def to_dict(self) -> dict[str, Any]:
        """The settings that are set, for storage and API answers."""
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> ProviderSettings:
        known = {key: value for key, value in (values or {}).items() if key in SETTING_NAMES}
        return cls(**known)
