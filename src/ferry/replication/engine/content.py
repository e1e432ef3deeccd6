"""Shaping a manifest for a destination that refuses some content (``providers.content``).

Alibaba ACR rejects manifests whose config is ``application/vnd.oci.empty.v1+json``: BuildKit's
provenance and SBOM attestations, and OCI 1.1 artifacts. With ``drop_attestations`` such manifests
are removed from an index before it is pushed — the new index differs from the source's, so its
digest changes, and the task log says so with both digests. Without it, or for an artifact that
is itself such a manifest, the image fails before anything is pushed, with a message that says
how to leave it out. Which index entries can be attestations is decided from the index first
(no platform, ``unknown/unknown``, or BuildKit's ``vnd.docker.reference.type`` annotation), so
ordinary platform images cost no extra request.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from ferry.distribution.client import RegistryClient
from ferry.errors import Unsupported
from ferry.oci.descriptor import Descriptor
from ferry.oci.digest import Digest
from ferry.oci.manifest import Manifest
from ferry.providers.content import ATTESTATION_REFERENCE, EMPTY_CONFIG, ContentRules
from ferry.replication.engine.tasks import bounded_map


async def shape_for_destination(
    source: RegistryClient,
    repository: str,
    digest: Digest,
    rules: ContentRules,
    *,
    log: Callable[[str], None],
) -> Manifest:
    """The manifest to push for the source's ``digest``: the source's own, or an index without
    the manifests the destination refuses. Raises ``Unsupported`` when it cannot be shaped."""
    manifest = await source.get_manifest(repository, str(digest))
    where = f"{source.registry}/{repository}@{digest}"
    if not manifest.is_index:
        if rules.refuse_empty_config and _has_empty_config(manifest):
            raise Unsupported(
                f"{rules.registry_kind} rejects manifests whose config is {EMPTY_CONFIG} (OCI artifacts "
                f"such as attestations, SBOMs and signatures), and {where} is one",
                hint="leave it out with an excluding tag filter, or replicate it to another registry",
            )
        return manifest
    candidates = [child for child in manifest.children if _may_be_attestation(child)]
    fetched = await bounded_map(
        lambda child: source.get_manifest(repository, str(child.digest)), candidates, limit=8
    )
    refused = {
        child.digest for child, found in zip(candidates, fetched, strict=True) if _has_empty_config(found)
    }
    if not refused:
        return manifest
    if not rules.drop_attestations:
        raise Unsupported(
            f"{rules.registry_kind} rejects manifests whose config is {EMPTY_CONFIG}, and the index "
            f"{where} lists {len(refused)} such attestation manifest(s)",
            hint="turn on drop_attestations in the destination endpoint's provider settings: ferry "
            "then pushes the index without them (its digest changes)",
        )
    shaped = _without_children(manifest, refused)
    log(
        f"dropped {len(refused)} attestation manifest(s) ({', '.join(sorted(d.short for d in refused))}) "
        f"from the index: {rules.registry_kind} rejects config {EMPTY_CONFIG}; the index digest changes "
        f"from {digest} to {shaped.digest}"
    )
    return shaped


def _may_be_attestation(child: Descriptor) -> bool:
    if child.annotations.get(ATTESTATION_REFERENCE):
        return True
    platform = child.platform
    return platform is None or (platform.os == "unknown" and platform.architecture == "unknown")


def _has_empty_config(manifest: Manifest) -> bool:
    return (
        not manifest.is_index and manifest.config is not None and manifest.config.media_type == EMPTY_CONFIG
    )


def _without_children(index: Manifest, dropped: set[Digest]) -> Manifest:
    document = dict(index.document)
    document["manifests"] = [
        entry
        for entry in document.get("manifests") or []
        if Digest.parse(str(entry.get("digest"))) not in dropped
    ]
    raw = json.dumps(document, indent=2).encode() + b"\n"
    return Manifest.from_bytes(raw, content_type=index.media_type, where="the reshaped index")
