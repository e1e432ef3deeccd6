"""Copying images between real registries; every copy checked with skopeo (an independent tool)."""

from __future__ import annotations

import pytest

from ferry.distribution.client import RegistryClient
from ferry.replication.engine.copier import CopyItem, CopyOptions
from ferry.replication.engine.progress import BlobOutcome, ImageOutcome
from tests.integration.harness import copy_images, ref
from tests.support.blobs import BlobSpec
from tests.support.images import build_image, build_index, push_image, push_index
from tests.support.registry import RegistryServer
from tests.support.skopeo import inspect_raw_digest


def layers(seed: int, *sizes: int) -> list[BlobSpec]:
    return [BlobSpec(size, seed=seed * 100 + index) for index, size in enumerate(sizes)]


@pytest.mark.parametrize("oci", [False, True], ids=["docker", "oci"])
async def test_single_arch_image_copies_with_identical_digest(
    registry: RegistryServer, registry_b: RegistryServer, oci: bool
) -> None:
    image = build_image(layers(1, 300_000, 70_000), oci=oci)
    push_image(registry, "library/app", "v1", image)

    results, recorder = await copy_images(
        [CopyItem(ref(registry, "library/app:v1"), ref(registry_b, "ns/app:v1"))], registry, registry_b
    )

    assert [result.outcome for result in results] == [ImageOutcome.COPIED]
    assert inspect_raw_digest(registry_b, "ns/app", "v1") == inspect_raw_digest(registry, "library/app", "v1")
    assert inspect_raw_digest(registry_b, "ns/app", "v1") == image.digest
    assert recorder.bytes_sent == sum(blob.size for blob in image.blobs)


@pytest.mark.parametrize("oci", [False, True], ids=["docker-manifest-list", "oci-index"])
async def test_multi_arch_index_copies_every_platform_children_first(
    registry: RegistryServer, registry_b: RegistryServer, oci: bool
) -> None:
    children = [
        build_image([*layers(2, 50_000), *layers(10 + n, 20_000)], oci=oci, architecture=arch)
        for n, arch in enumerate(("amd64", "arm64", "s390x"))
    ]
    index = build_index(children, oci=oci)
    push_index(registry, "library/multi", "v1", index)

    results, _ = await copy_images(
        [CopyItem(ref(registry, "library/multi:v1"), ref(registry_b, "ns/multi:v1"))], registry, registry_b
    )

    assert results[0].outcome is ImageOutcome.COPIED
    assert inspect_raw_digest(registry_b, "ns/multi", "v1") == index.digest
    for child in children:
        assert inspect_raw_digest(registry_b, "ns/multi", child.digest) == child.digest


async def test_artifact_with_non_image_config_copies(
    registry: RegistryServer, registry_b: RegistryServer
) -> None:
    artifact = build_image(
        layers(3, 4096),
        oci=True,
        config_media_type="application/vnd.example.helm.config.v1+json",
        config_data=b'{"name":"chart"}',
        artifact_type="application/vnd.example.helm",
    )
    push_image(registry, "charts/app", "1.0.0", artifact)

    results, _ = await copy_images(
        [CopyItem(ref(registry, "charts/app:1.0.0"), ref(registry_b, "mirror/app:1.0.0"))],
        registry,
        registry_b,
    )

    assert results[0].outcome is ImageOutcome.COPIED
    assert inspect_raw_digest(registry_b, "mirror/app", "1.0.0") == artifact.digest


async def test_copy_by_digest_pushes_no_tag(registry: RegistryServer, registry_b: RegistryServer) -> None:
    image = build_image(layers(4, 10_000))
    push_image(registry, "library/app", "v1", image)

    results, _ = await copy_images(
        [CopyItem(ref(registry, f"library/app@{image.digest}"), ref(registry_b, f"ns/app@{image.digest}"))],
        registry,
        registry_b,
    )

    assert results[0].outcome is ImageOutcome.COPIED
    assert inspect_raw_digest(registry_b, "ns/app", image.digest) == image.digest


async def test_second_run_is_up_to_date_and_moves_nothing(
    registry: RegistryServer, registry_b: RegistryServer
) -> None:
    image = build_image(layers(5, 100_000))
    push_image(registry, "library/app", "v1", image)
    item = CopyItem(ref(registry, "library/app:v1"), ref(registry_b, "ns/app:v1"))
    await copy_images([item], registry, registry_b)

    results, recorder = await copy_images([item], registry, registry_b)

    assert results[0].outcome is ImageOutcome.UP_TO_DATE
    assert recorder.bytes_sent == 0


async def test_shared_layers_cross_once_and_are_mounted_into_other_repositories(
    registry: RegistryServer, registry_b: RegistryServer
) -> None:
    base = layers(6, 400_000, 200_000)
    images = {f"app{n}": build_image([*base, *layers(20 + n, 30_000)]) for n in range(4)}
    for name, image in images.items():
        push_image(registry, f"library/{name}", "v1", image)
    items = [
        CopyItem(ref(registry, f"library/{name}:v1"), ref(registry_b, f"ns/{name}:v1")) for name in images
    ]

    results, recorder = await copy_images(items, registry, registry_b)

    assert {result.outcome for result in results} == {ImageOutcome.COPIED}
    unique = {blob.digest: blob.size for image in images.values() for blob in image.blobs}
    assert recorder.bytes_sent == sum(unique.values())
    mounted = {event.digest for event in recorder.blobs(BlobOutcome.MOUNTED)}
    assert mounted == {blob.digest for blob in base}
    assert len(recorder.blobs(BlobOutcome.MOUNTED)) == 3 * len(base)
    for name, image in images.items():
        assert inspect_raw_digest(registry_b, f"ns/{name}", "v1") == image.digest


async def test_tags_sharing_a_digest_copy_content_once(
    registry: RegistryServer, registry_b: RegistryServer
) -> None:
    image = build_image(layers(7, 200_000))
    for tag in ("v1", "latest", "stable"):
        push_image(registry, "library/app", tag, image)
    items = [
        CopyItem(ref(registry, f"library/app:{tag}"), ref(registry_b, f"ns/app:{tag}"))
        for tag in ("v1", "latest", "stable")
    ]

    results, recorder = await copy_images(items, registry, registry_b)

    assert {result.outcome for result in results} == {ImageOutcome.COPIED}
    assert recorder.bytes_sent == sum(blob.size for blob in image.blobs)
    assert len(recorder.blobs(BlobOutcome.UPLOADED)) == len(image.blobs)
    for tag in ("v1", "latest", "stable"):
        assert inspect_raw_digest(registry_b, "ns/app", tag) == image.digest


async def test_override_off_skips_a_tag_with_another_digest_and_says_why(
    registry: RegistryServer, registry_b: RegistryServer
) -> None:
    push_image(registry, "library/app", "v1", build_image(layers(8, 1000)))
    existing = build_image(layers(9, 1000))
    push_image(registry_b, "ns/app", "v1", existing)

    results, recorder = await copy_images(
        [CopyItem(ref(registry, "library/app:v1"), ref(registry_b, "ns/app:v1"))],
        registry,
        registry_b,
        options=CopyOptions(override=False),
    )

    assert results[0].outcome is ImageOutcome.SKIPPED_EXISTS
    assert "override" in results[0].message
    assert any("image already exists" in line for line in recorder.log)
    assert inspect_raw_digest(registry_b, "ns/app", "v1") == existing.digest


async def test_override_on_replaces_the_tag(registry: RegistryServer, registry_b: RegistryServer) -> None:
    wanted = build_image(layers(10, 1000))
    push_image(registry, "library/app", "v1", wanted)
    push_image(registry_b, "ns/app", "v1", build_image(layers(11, 1000)))

    results, _ = await copy_images(
        [CopyItem(ref(registry, "library/app:v1"), ref(registry_b, "ns/app:v1"))], registry, registry_b
    )

    assert results[0].outcome is ImageOutcome.COPIED
    assert inspect_raw_digest(registry_b, "ns/app", "v1") == wanted.digest


async def test_missing_source_fails_alone_without_touching_other_images(
    registry: RegistryServer, registry_b: RegistryServer
) -> None:
    image = build_image(layers(12, 5000))
    push_image(registry, "library/app", "v1", image)
    items = [
        CopyItem(ref(registry, "library/app:nope"), ref(registry_b, "ns/app:nope")),
        CopyItem(ref(registry, "library/app:v1"), ref(registry_b, "ns/app:v1")),
    ]

    results, _ = await copy_images(items, registry, registry_b)

    assert [result.outcome for result in results] == [ImageOutcome.FAILED, ImageOutcome.COPIED]
    assert "source image not found" in results[0].message
    assert "library/app:nope" in results[0].message
    assert inspect_raw_digest(registry_b, "ns/app", "v1") == image.digest


async def test_dry_run_reports_without_copying(registry: RegistryServer, registry_b: RegistryServer) -> None:
    push_image(registry, "library/app", "v1", build_image(layers(13, 5000)))

    results, recorder = await copy_images(
        [CopyItem(ref(registry, "library/app:v1"), ref(registry_b, "ns/app:v1"))],
        registry,
        registry_b,
        options=CopyOptions(dry_run=True),
    )

    assert results[0].outcome is ImageOutcome.COPIED
    assert results[0].message.startswith("would copy")
    assert recorder.bytes_sent == 0
    async with RegistryClient(registry_b.host) as client:
        assert await client.head_manifest("ns/app", "v1") is None
