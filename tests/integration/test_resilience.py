"""Misbehaving links and servers: retries, resumed uploads, corrupt sources, redirects, stops."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from ferry.distribution.client import RegistryClient
from ferry.errors import Unsupported
from ferry.oci.digest import Digest
from ferry.replication.engine.blobs import ChunkPolicy
from ferry.replication.engine.copier import CopyItem, CopyOptions
from ferry.replication.engine.progress import BytesMoved, Event, ImageOutcome
from tests.integration.harness import Harness, copy_images, options_for, ref
from tests.support.blobs import BlobSpec
from tests.support.faults import (
    CuttingProxy,
    FlakyProxy,
    Matcher,
    RedirectingProxy,
    manifest_request,
    upload_body,
    upload_patch,
)
from tests.support.hostile import HostileRegistry
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.support.schema1 import build_schema1, push_schema1
from tests.support.skopeo import inspect_raw_digest

MiB = 1024 * 1024


@pytest.mark.parametrize("status", [429, 503])
async def test_throttled_and_unavailable_answers_are_retried(
    registry: RegistryServer, registry_b: RegistryServer, status: int
) -> None:
    image = build_image([BlobSpec(50_000, seed=1)])
    push_image(registry, "library/app", "v1", image)
    with FlakyProxy(registry_b, fail_statuses=[status, status, status], retry_after="0") as flaky:
        results, _ = await copy_images(
            [CopyItem(ref(registry, "library/app:v1"), ref(flaky, "ns/app:v1"))], registry, flaky
        )
        assert flaky.failed == 3
    assert results[0].outcome is ImageOutcome.COPIED
    assert inspect_raw_digest(registry_b, "ns/app", "v1") == image.digest


async def test_retry_after_is_honoured_before_the_next_attempt(registry: RegistryServer) -> None:
    with FlakyProxy(registry, fail_statuses=[429], retry_after="1", match=manifest_request) as flaky:
        async with RegistryClient(flaky.host, options_for(flaky)) as client:
            loop = asyncio.get_running_loop()
            started = loop.time()
            assert await client.head_manifest("library/app", "v1") is None
            waited = loop.time() - started
        assert flaky.failed == 1
    assert waited >= 1.0  # the registry asked for one second; retrying sooner would be rude


async def test_persistent_failure_gives_up_with_a_clear_error(
    registry: RegistryServer, registry_b: RegistryServer
) -> None:
    push_image(registry, "library/app", "v1", build_image([BlobSpec(1000, seed=2)]))
    with FlakyProxy(registry_b, fail_statuses=[503] * 100, retry_after="0") as flaky:
        results, _ = await copy_images(
            [CopyItem(ref(registry, "library/app:v1"), ref(flaky, "ns/app:v1"))], registry, flaky
        )
    assert results[0].outcome is ImageOutcome.FAILED
    assert "HTTP 503" in results[0].message
    assert f"{flaky.host}/ns/app" in results[0].message


def nth_patch_of_an_upload(n: int) -> Matcher:
    """Matches the n-th PATCH of whichever upload first gets that far (the config has one PATCH)."""
    counts: Counter[str] = Counter()

    def match(method: str, path: str) -> bool:
        if not upload_patch(method, path):
            return False
        counts[path] += 1
        return counts[path] == n

    return match


async def test_interrupted_chunked_upload_resumes_from_the_registry_range(
    registry: RegistryServer, registry_b: RegistryServer
) -> None:
    layer = BlobSpec(24 * MiB, seed=3)
    image = build_image([layer])
    push_image(registry, "library/big", "v1", image)
    options = CopyOptions(chunks=ChunkPolicy(threshold=0, size=8 * MiB))
    # the connection breaks as the second chunk starts: the registry holds exactly one chunk
    with CuttingProxy(registry_b, cut_after_bytes=0, match=nth_patch_of_an_upload(2)) as cutting:
        results, recorder = await copy_images(
            [CopyItem(ref(registry, "library/big:v1"), ref(cutting, "ns/big:v1"))],
            registry,
            cutting,
            options=options,
        )
        forwarded = cutting.body_bytes_forwarded
        assert cutting.cuts == 1
    assert results[0].outcome is ImageOutcome.COPIED, results[0].message
    assert any(f"holds {8 * MiB} bytes, resuming there" in line for line in recorder.log)
    # every byte crossed once (blobs plus the manifest): resumed, not restarted
    assert forwarded == image.config.size + layer.size + len(image.manifest_bytes)
    assert inspect_raw_digest(registry_b, "ns/big", "v1") == image.digest


async def test_chunk_cut_half_way_restarts_when_the_registry_cannot_resume(
    registry: RegistryServer, registry_b: RegistryServer
) -> None:
    layer = BlobSpec(24 * MiB, seed=13)
    image = build_image([layer])
    push_image(registry, "library/big", "v1", image)
    options = CopyOptions(chunks=ChunkPolicy(threshold=0, size=8 * MiB))
    with CuttingProxy(registry_b, cut_after_bytes=3 * MiB, match=nth_patch_of_an_upload(2)) as cutting:
        results, recorder = await copy_images(
            [CopyItem(ref(registry, "library/big:v1"), ref(cutting, "ns/big:v1"))],
            registry,
            cutting,
            options=options,
        )
    assert results[0].outcome is ImageOutcome.COPIED, results[0].message
    assert any("restarting the blob" in line for line in recorder.log)
    assert inspect_raw_digest(registry_b, "ns/big", "v1") == image.digest


async def test_interrupted_monolithic_upload_is_retried_whole(
    registry: RegistryServer, registry_b: RegistryServer
) -> None:
    image = build_image([BlobSpec(3 * MiB, seed=4)])
    push_image(registry, "library/app", "v1", image)
    with CuttingProxy(registry_b, cut_after_bytes=1 * MiB) as cutting:
        results, _ = await copy_images(
            [CopyItem(ref(registry, "library/app:v1"), ref(cutting, "ns/app:v1"))], registry, cutting
        )
    assert results[0].outcome is ImageOutcome.COPIED, results[0].message
    assert inspect_raw_digest(registry_b, "ns/app", "v1") == image.digest


@pytest.mark.parametrize("corruption", ["bytes", "longer", "shorter"])
async def test_corrupt_source_blob_fails_that_image_and_pushes_nothing(
    registry_b: RegistryServer, corruption: str
) -> None:
    bad_layer = BlobSpec(200_000, seed=5)
    image = build_image([BlobSpec(10_000, seed=6), bad_layer])
    with HostileRegistry(image, corrupt=corruption, corrupt_digest=bad_layer.digest) as hostile:  # type: ignore[arg-type]
        results, _ = await copy_images(
            [CopyItem(ref(hostile, "hostile/app:latest"), ref(registry_b, "ns/app:v1"))], hostile, registry_b
        )
    assert results[0].outcome is ImageOutcome.FAILED
    assert bad_layer.digest[:19] in results[0].message, results[0].message
    async with RegistryClient(registry_b.host) as client:
        assert await client.head_manifest("ns/app", "v1") is None
        assert await client.head_blob("ns/app", Digest.parse(bad_layer.digest)) is None


async def test_blob_redirects_are_followed_without_sending_credentials(
    basic_registry: RegistryServer, registry_b: RegistryServer
) -> None:
    image = build_image([BlobSpec(100_000, seed=7)])
    push_image(basic_registry, "library/app", "v1", image)
    with RedirectingProxy(basic_registry) as redirecting:
        results, _ = await copy_images(
            [CopyItem(ref(redirecting, "library/app:v1"), ref(registry_b, "ns/app:v1"))],
            redirecting,
            registry_b,
        )
        assert redirecting.redirects >= 2
        assert redirecting.storage.authorization_seen == []
    assert results[0].outcome is ImageOutcome.COPIED, results[0].message
    assert inspect_raw_digest(registry_b, "ns/app", "v1") == image.digest


async def test_schema1_source_is_refused_with_a_clear_message(
    tmp_path_factory: pytest.TempPathFactory, registry_b: RegistryServer
) -> None:
    from tests.support.registry import start_registry

    with start_registry(tmp_path_factory.mktemp("schema1"), schema1=True) as old:
        spec = build_schema1("library/old", "v1", [BlobSpec(1000, seed=8)])
        push_schema1(old, "library/old", "v1", spec)
        async with RegistryClient(old.host) as client:
            with pytest.raises(Unsupported, match="schema 1"):
                await client.get_manifest("library/old", "v1")
        results, _ = await copy_images(
            [CopyItem(ref(old, "library/old:v1"), ref(registry_b, "ns/old:v1"))], old, registry_b
        )
    assert results[0].outcome is ImageOutcome.FAILED
    assert "schema 1" in results[0].message


async def test_stop_takes_effect_mid_blob_and_leaves_no_manifest(
    registry: RegistryServer, registry_b: RegistryServer
) -> None:
    layer = BlobSpec(64 * MiB, seed=9)
    push_image(registry, "library/big", "v1", build_image([layer]))
    started = asyncio.Event()
    moved = 0

    def watch(event: Event) -> None:
        nonlocal moved
        if isinstance(event, BytesMoved):
            moved += event.amount
            if moved >= 2 * MiB:
                started.set()

    harness = Harness(registry, registry_b, options=CopyOptions(limit_rate=8 * MiB), observer=watch)
    copying = asyncio.create_task(
        harness.copy([CopyItem(ref(registry, "library/big:v1"), ref(registry_b, "b:v1"))])
    )
    await asyncio.wait_for(started.wait(), timeout=60)
    copying.cancel()
    with pytest.raises(asyncio.CancelledError):
        await copying
    assert moved < layer.size // 2
    async with RegistryClient(registry_b.host) as client:
        assert await client.head_manifest("b", "v1") is None
        assert await client.head_blob("b", Digest.parse(layer.digest)) is None


async def test_an_upload_the_registry_forgot_while_the_blob_waited_is_opened_again(
    registry: RegistryServer, registry_b: RegistryServer
) -> None:
    """Uploads are opened before a blob waits for its transfer slot; registries that expire idle
    uploads answer ``404 BLOB_UPLOAD_UNKNOWN`` by the time the bytes come."""
    image = build_image([BlobSpec(300_000, seed=21), BlobSpec(2 * MiB, seed=22)])
    push_image(registry, "library/app", "v1", image)
    forgetting = FlakyProxy(registry_b, fail_statuses=[404], match=upload_body, code="BLOB_UPLOAD_UNKNOWN")
    with forgetting:
        results, recorder = await copy_images(
            [CopyItem(ref(registry, "library/app:v1"), ref(forgetting, "ns/app:v1"))], registry, forgetting
        )
        assert forgetting.failed == 1
    assert results[0].outcome is ImageOutcome.COPIED, results[0].message
    assert any("no longer knows the upload" in line for line in recorder.log)
    assert inspect_raw_digest(registry_b, "ns/app", "v1") == image.digest
