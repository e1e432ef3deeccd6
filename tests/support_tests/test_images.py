"""Images built and pushed by the support code are what skopeo (the oracle) sees."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.support.blobs import CHUNK, BlobSpec
from tests.support.client import RegistryClient, get_blob, get_manifest, list_tags, manifest_digest
from tests.support.images import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    build_image,
    build_index,
    push_image,
    push_index,
)
from tests.support.notifications import NotificationSink
from tests.support.registry import RegistryServer, start_registry
from tests.support.schema1 import build_schema1, payload_digest, push_schema1
from tests.support.skopeo import (
    inspect_raw,
    inspect_raw_config,
    inspect_raw_digest,
    skopeo_copy,
    skopeo_list_tags,
)


def test_blobs_are_deterministic_and_streamed() -> None:
    assert BlobSpec(1000, seed=1).read() == BlobSpec(1000, seed=1).read()
    assert BlobSpec(1000, seed=1).digest != BlobSpec(1000, seed=2).digest
    big = BlobSpec(CHUNK * 9 + 123, seed=5)
    assert big.is_large
    chunks = list(big.iter_chunks())
    assert max(len(c) for c in chunks) == CHUNK
    assert sum(len(c) for c in chunks) == big.size
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(chunk)
    assert big.digest == "sha256:" + hasher.hexdigest()
    assert len({c[:32] for c in chunks}) == len(chunks)  # every chunk differs: shifts change the bytes
    with pytest.raises(ValueError, match="materialise"):
        big.read()
    literal = BlobSpec.of(b"hello")
    assert literal.digest == "sha256:" + hashlib.sha256(b"hello").hexdigest()
    assert list(literal.iter_chunks()) == [b"hello"]


def test_docker_image_push_matches_skopeo(basic_registry: RegistryServer) -> None:
    image = build_image([BlobSpec(300, 1), BlobSpec(CHUNK * 8, 2)], labels={"a": "b"})
    assert image.media_type == DOCKER_MANIFEST
    assert b'\n   "schemaVersion": 2' in image.manifest_bytes  # indented like the Docker CLI
    assert push_image(basic_registry, "lib/app", "v1", image) == image.digest
    assert manifest_digest(basic_registry, "lib/app", "v1") == image.digest
    assert inspect_raw_digest(basic_registry, "lib/app", "v1") == image.digest
    assert inspect_raw_digest(basic_registry, "lib/app", image.digest) == image.digest
    assert inspect_raw_config(basic_registry, "lib/app", "v1") == image.config.read()
    assert json.loads(image.config.read())["config"]["Labels"] == {"a": "b"}
    assert get_blob(basic_registry, "lib/app", image.layers[0].digest) == image.layers[0].read()
    assert skopeo_list_tags(basic_registry, "lib/app") == ["v1"]


def test_oci_index_with_artifact_and_nested_index(tls_registry: RegistryServer) -> None:
    arm = build_image([BlobSpec(10, 3)], oci=True, architecture="arm64", variant="v8", annotations={"k": "v"})
    artifact = build_image(
        [BlobSpec(20, 4, media_type="application/vnd.example.data.v1")],
        oci=True,
        config_media_type="application/vnd.example.config.v1+json",
        artifact_type="application/vnd.example.sbom.v1",
    )
    assert artifact.platform is None
    assert artifact.config.read() == b"{}"
    inner = build_index([arm, artifact], oci=True)
    outer = build_index([inner, build_image([BlobSpec(30, 5)], oci=True)], oci=True)
    assert outer.media_type == OCI_INDEX
    assert [e.get("platform") for e in inner.manifest["manifests"]] == [
        {"architecture": "arm64", "os": "linux", "variant": "v8"},
        None,
    ]
    with RegistryClient(tls_registry) as client:
        assert push_index(client, "lib/multi", "latest", outer) == outer.digest
        raw, content_type = get_manifest(client, "lib/multi", artifact.digest)
    assert (raw, content_type) == (artifact.manifest_bytes, OCI_MANIFEST)
    assert inspect_raw(tls_registry, "lib/multi", "latest") == outer.manifest_bytes
    assert inspect_raw_digest(tls_registry, "lib/multi", inner.digest) == inner.digest
    assert len(outer.images) == 3


def test_docker_manifest_list_and_untagged_children(
    registry: RegistryServer, registry_b: RegistryServer
) -> None:
    amd = build_image([BlobSpec(10, 6)])
    arm = build_image([BlobSpec(11, 7)], architecture="arm", variant="v7")
    index = build_index([amd, arm], oci=False)
    assert index.media_type == DOCKER_LIST
    push_index(registry, "lib/list", "v2", index)
    assert list_tags(registry, "lib/list") == ["v2"]  # children are pushed by digest only
    skopeo_copy(registry, "lib/list", "v2", registry_b, "copy/list", "v2")
    assert inspect_raw_digest(registry_b, "copy/list", "v2") == index.digest
    assert inspect_raw_digest(registry_b, "copy/list", arm.digest) == arm.digest


def test_schema1_needs_compat_flag_and_is_resigned(tmp_path: Path, registry: RegistryServer) -> None:
    spec = build_schema1("old/app", "v1", [BlobSpec(50, 8), BlobSpec(60, 9)])
    assert payload_digest(spec.manifest_bytes) == spec.digest
    with pytest.raises(RuntimeError, match="500"):  # "manifest schema v1 unsupported"
        push_schema1(registry, "old/app", "v1", spec)
    with start_registry(tmp_path / "s1", schema1=True) as legacy:
        assert push_schema1(legacy, "old/app", "v1", spec) == spec.digest
        first, second = inspect_raw(legacy, "old/app", "v1"), inspect_raw(legacy, "old/app", "v1")
        assert first != spec.manifest_bytes  # re-signed by the registry ...
        assert payload_digest(first) == payload_digest(second) == spec.digest  # ... same payload
        assert manifest_digest(legacy, "old/app", "v1") == spec.digest


def test_notifications_reach_the_sink(tmp_path: Path) -> None:
    with NotificationSink() as sink, start_registry(tmp_path, notifications_url=sink.url) as server:
        image = build_image([BlobSpec(10, 10)], oci=True)
        push_image(server, "events/app", "v1", image)
        event = sink.wait_for(lambda e: e["action"] == "push" and e["target"].get("tag") == "v1")
        assert event["target"]["digest"] == image.digest
        assert event["target"]["repository"] == "events/app"
