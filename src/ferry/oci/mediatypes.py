"""The manifest and layer media types ferry understands."""

from __future__ import annotations

from enum import StrEnum


class MediaType(StrEnum):
    DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
    DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
    DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
    DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
    OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
    OCI_INDEX = "application/vnd.oci.image.index.v1+json"
    OCI_EMPTY = "application/vnd.oci.empty.v1+json"
    DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"


IMAGE_MANIFESTS = frozenset({MediaType.DOCKER_MANIFEST, MediaType.OCI_MANIFEST})
INDEXES = frozenset({MediaType.DOCKER_MANIFEST_LIST, MediaType.OCI_INDEX})
SCHEMA1 = frozenset({MediaType.DOCKER_SCHEMA1, MediaType.DOCKER_SCHEMA1_SIGNED})

#: Sent as ``Accept`` on manifest requests: every type ferry can copy, plus schema 1 so that a
#: registry holding only schema 1 answers with it and ferry can refuse it with a clear message
#: instead of a confusing 404.
MANIFEST_ACCEPT = ", ".join(
    [
        MediaType.OCI_INDEX,
        MediaType.OCI_MANIFEST,
        MediaType.DOCKER_MANIFEST_LIST,
        MediaType.DOCKER_MANIFEST,
        MediaType.DOCKER_SCHEMA1_SIGNED,
        MediaType.DOCKER_SCHEMA1,
    ]
)


def is_foreign_layer(media_type: str) -> bool:
    """Layers that live outside registries and must not be copied (Windows base layers)."""
    return media_type == MediaType.DOCKER_FOREIGN_LAYER or ".nondistributable." in media_type
