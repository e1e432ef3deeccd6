"""Build and push test images and indexes with plain httpx — independently of ``ferry``.

Why: replication tests need source registries seeded with known content
(Docker schema 2, OCI, manifest lists/indexes, OCI artifacts) whose digests
the test knows in advance.  Manifests are serialised here once and pushed
byte-for-byte, so "the copy has the same digest" is a meaningful assertion.
Docker manifests use ``json.dumps(indent=3)`` like the Docker CLI, so a client
that re-serialises instead of copying bytes will be caught.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.support.blobs import BlobSpec
from tests.support.client import Target, connect, manifest_digest

__all__ = [
    "BlobSpec",
    "ImageSpec",
    "IndexSpec",
    "build_image",
    "build_index",
    "manifest_digest",
    "push_blob",
    "push_image",
    "push_index",
    "push_manifest",
]

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
IMAGE_CONFIG_TYPES = (DOCKER_CONFIG, OCI_CONFIG)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ImageSpec:
    """A single-platform manifest plus the blobs it references."""

    manifest_bytes: bytes
    media_type: str
    config: BlobSpec
    layers: tuple[BlobSpec, ...]
    platform: dict[str, str] | None = None  # None for artifacts (no platform in an index)

    @property
    def digest(self) -> str:
        return _sha256(self.manifest_bytes)

    @property
    def manifest(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.manifest_bytes)
        return parsed

    @property
    def blobs(self) -> tuple[BlobSpec, ...]:
        return (self.config, *self.layers)


@dataclass(frozen=True)
class IndexSpec:
    """A Docker manifest list or OCI index and its (image or nested index) children."""

    manifest_bytes: bytes
    media_type: str
    children: tuple[ImageSpec | IndexSpec, ...] = field(default_factory=tuple)

    @property
    def digest(self) -> str:
        return _sha256(self.manifest_bytes)

    @property
    def manifest(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.manifest_bytes)
        return parsed

    @property
    def images(self) -> tuple[ImageSpec, ...]:
        """Every single-platform image below this index, depth first."""
        found: list[ImageSpec] = []
        for child in self.children:
            found.extend(child.images if isinstance(child, IndexSpec) else [child])
        return tuple(found)


def _serialise(document: dict[str, Any], *, oci: bool) -> bytes:
    return (
        json.dumps(document, separators=(",", ":")).encode()
        if oci
        else json.dumps(document, indent=3).encode()
    )


def build_image(
    layers: Sequence[BlobSpec],
    *,
    oci: bool = False,
    architecture: str = "amd64",
    os: str = "linux",
    variant: str | None = None,
    labels: dict[str, str] | None = None,
    config_media_type: str | None = None,
    config_data: bytes | None = None,
    artifact_type: str | None = None,
    annotations: dict[str, str] | None = None,
) -> ImageSpec:
    """Describe an image; nothing is pushed.  A non-image ``config_media_type`` makes an OCI artifact
    (config content ``{}`` unless ``config_data`` is given)."""
    platform = {"architecture": architecture, "os": os} | ({"variant": variant} if variant else {})
    config_type = config_media_type or (OCI_CONFIG if oci else DOCKER_CONFIG)
    is_artifact = config_type not in IMAGE_CONFIG_TYPES or artifact_type is not None
    if config_data is None:
        if config_type in IMAGE_CONFIG_TYPES:
            config_doc: dict[str, Any] = {
                **platform,
                "created": "2024-01-01T00:00:00Z",
                "config": {"Labels": dict(labels or {})},
                "rootfs": {"type": "layers", "diff_ids": [layer.digest for layer in layers]},
            }
            config_data = json.dumps(config_doc, sort_keys=True, separators=(",", ":")).encode()
        else:
            config_data = b"{}"
    config = BlobSpec.of(config_data, media_type=config_type)
    layer_type = OCI_LAYER if oci else DOCKER_LAYER
    media_type = OCI_MANIFEST if oci else DOCKER_MANIFEST
    document: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type}
    if artifact_type is not None:
        document["artifactType"] = artifact_type
    document["config"] = config.descriptor()
    document["layers"] = [layer.descriptor(layer.media_type or layer_type) for layer in layers]
    if annotations:
        document["annotations"] = dict(annotations)
    return ImageSpec(
        manifest_bytes=_serialise(document, oci=oci),
        media_type=media_type,
        config=config,
        layers=tuple(layers),
        platform=None if is_artifact else platform,
    )


def build_index(
    children: Sequence[ImageSpec | IndexSpec],
    *,
    oci: bool,
    annotations: dict[str, str] | None = None,
    artifact_type: str | None = None,
) -> IndexSpec:
    """A manifest list (Docker) or index (OCI) with one entry per child, platform included when known."""
    entries: list[dict[str, Any]] = []
    for child in children:
        entry: dict[str, Any] = {
            "mediaType": child.media_type,
            "size": len(child.manifest_bytes),
            "digest": child.digest,
        }
        if isinstance(child, ImageSpec) and child.platform is not None:
            entry["platform"] = dict(child.platform)
        entries.append(entry)
    media_type = OCI_INDEX if oci else DOCKER_LIST
    document: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type}
    if artifact_type is not None:
        document["artifactType"] = artifact_type
    document["manifests"] = entries
    if annotations:
        document["annotations"] = dict(annotations)
    return IndexSpec(
        manifest_bytes=_serialise(document, oci=oci), media_type=media_type, children=tuple(children)
    )


def push_blob(target: Target, repository: str, blob: BlobSpec, *, skip_existing: bool = True) -> None:
    """Monolithic upload: ``POST`` for a session, then one ``PUT ?digest=`` with the whole body.

    Large blobs are streamed from the generator with an explicit ``Content-Length``.
    """
    with connect(target) as client:
        if skip_existing:
            head = client.request("HEAD", f"/v2/{repository}/blobs/{blob.digest}")
            if head.status_code == 200:
                return
        start = client.request("POST", f"/v2/{repository}/blobs/uploads/")
        if start.status_code != 202:
            raise RuntimeError(f"upload start failed: {start.status_code} {start.text}")
        location = start.headers["Location"]
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(blob.size)}
        content = blob.iter_chunks() if blob.is_large else blob.read()
        # Location carries ``_state``; httpx's ``params=`` would replace that query, so merge explicitly.
        url = client.http.base_url.join(location).copy_merge_params({"digest": blob.digest})
        done = client.http.put(url, headers=headers, content=content)
        if done.status_code != 201:
            raise RuntimeError(f"upload of {blob.digest} failed: {done.status_code} {done.text}")


def push_manifest(
    target: Target, repository: str, reference: str, manifest_bytes: bytes, media_type: str
) -> str:
    """``PUT`` raw manifest bytes; returns the registry's ``Docker-Content-Digest``."""
    with connect(target) as client:
        resp = client.request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            content=manifest_bytes,
            headers={"Content-Type": media_type},
        )
        if resp.status_code != 201:
            raise RuntimeError(
                f"manifest PUT {repository}:{reference} failed: {resp.status_code} {resp.text}"
            )
        return resp.headers["Docker-Content-Digest"]


def push_image(target: Target, repository: str, tag: str | None, image: ImageSpec) -> str:
    """Push config and layers, then the manifest by ``tag`` (by digest when ``tag`` is ``None``)."""
    with connect(target) as client:
        for blob in image.blobs:
            push_blob(client, repository, blob)
        return push_manifest(client, repository, tag or image.digest, image.manifest_bytes, image.media_type)


def push_index(target: Target, repository: str, tag: str | None, index: IndexSpec) -> str:
    """Push every child by digest first (registries check references), then the index by ``tag``."""
    with connect(target) as client:
        for child in index.children:
            if isinstance(child, IndexSpec):
                push_index(client, repository, None, child)
            else:
                push_image(client, repository, None, child)
        return push_manifest(client, repository, tag or index.digest, index.manifest_bytes, index.media_type)
