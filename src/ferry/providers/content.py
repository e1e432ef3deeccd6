"""What a destination accepts: rules the copy engine applies to manifests before pushing them."""

from __future__ import annotations

from dataclasses import dataclass

EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
"""The config media type of OCI 1.1 artifacts, including BuildKit's provenance and SBOM
attestations; Alibaba ACR rejects it: ``denied: unknown manifest class for …``."""

ATTESTATION_REFERENCE = "vnd.docker.reference.type"
"""The index annotation BuildKit puts on an attestation manifest (value ``attestation-manifest``)."""


@dataclass(frozen=True)
class ContentRules:
    refuse_empty_config: bool = False
    """The registry rejects manifests whose config is ``EMPTY_CONFIG``: refuse them before pushing,
    with a message that says how to leave them out."""
    drop_attestations: bool = False
    """Remove such manifests from indexes before pushing (the index digest changes)."""
    registry_kind: str = ""
    """Who imposes the rules, for messages (``Alibaba Cloud CR``)."""

    @property
    def active(self) -> bool:
        return self.refuse_empty_config or self.drop_attestations


NO_RULES = ContentRules()
