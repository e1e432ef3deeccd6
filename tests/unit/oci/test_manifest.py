from __future__ import annotations

import json

import pytest

from ferry.errors import InvalidInput, Unsupported
from ferry.oci.digest import Digest
from ferry.oci.manifest import Manifest
from ferry.oci.mediatypes import MediaType

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64


def image(config_type: str = "application/vnd.oci.image.config.v1+json", **extra: object) -> bytes:
    document = {
        "schemaVersion": 2,
        "mediaType": MediaType.OCI_MANIFEST,
        "config": {"mediaType": config_type, "digest": D1, "size": 10},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": D2, "size": 20},
            {
                "mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                "digest": D3,
                "size": 5,
                "urls": ["https://example.com/layer"],
            },
        ],
        **extra,
    }
    return json.dumps(document, indent=4).encode()


def test_manifest_keeps_raw_bytes_and_their_digest() -> None:
    raw = image()
    manifest = Manifest.from_bytes(raw, content_type=MediaType.OCI_MANIFEST, where="test")
    assert manifest.raw is raw
    assert manifest.digest == Digest.of(raw)


def test_blobs_are_config_and_layers_without_foreign_layers() -> None:
    manifest = Manifest.from_bytes(image(), content_type=MediaType.OCI_MANIFEST, where="test")
    assert [str(blob.digest) for blob in manifest.blobs] == [D1, D2]


def test_artifact_with_any_config_type_is_accepted() -> None:
    raw = image("application/vnd.example.thing.config.v1+json", artifactType="application/vnd.example.thing")
    manifest = Manifest.from_bytes(raw, content_type=None, where="test")
    assert manifest.artifact_type == "application/vnd.example.thing"
    assert len(manifest.blobs) == 2


def test_index_lists_children_with_platforms() -> None:
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MediaType.DOCKER_MANIFEST_LIST,
            "manifests": [
                {
                    "mediaType": MediaType.DOCKER_MANIFEST,
                    "digest": D1,
                    "size": 3,
                    "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
                },
            ],
        }
    ).encode()
    manifest = Manifest.from_bytes(raw, content_type=MediaType.DOCKER_MANIFEST_LIST, where="test")
    assert manifest.is_index
    assert str(manifest.children[0].platform) == "linux/arm64/v8"
    assert manifest.blobs == ()


def test_content_type_parameters_are_ignored() -> None:
    manifest = Manifest.from_bytes(
        image(), content_type=f"{MediaType.OCI_MANIFEST}; charset=utf-8", where="t"
    )
    assert manifest.media_type == MediaType.OCI_MANIFEST


@pytest.mark.parametrize("content_type", [MediaType.DOCKER_SCHEMA1_SIGNED, MediaType.DOCKER_SCHEMA1, None])
def test_schema1_is_refused_with_a_clear_message(content_type: str | None) -> None:
    raw = json.dumps({"schemaVersion": 1, "name": "app", "tag": "v1", "fsLayers": []}).encode()
    with pytest.raises(Unsupported, match="schema 1") as raised:
        Manifest.from_bytes(raw, content_type=content_type, where="host/app:v1")
    assert "host/app:v1" in str(raised.value)
    assert raised.value.hint is not None
    assert "re-push" in raised.value.hint


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[]", json.dumps({"schemaVersion": 2, "mediaType": MediaType.OCI_MANIFEST}).encode()],
)
def test_malformed_manifests_are_invalid_input(raw: bytes) -> None:
    with pytest.raises(InvalidInput):
        Manifest.from_bytes(raw, content_type=MediaType.OCI_MANIFEST, where="test")
