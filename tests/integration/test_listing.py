"""Catalog and tag listing follow `Link` pagination to the end."""

from __future__ import annotations

from ferry.distribution.client import RegistryClient
from tests.support.blobs import BlobSpec
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer


async def test_catalog_pagination_returns_every_repository(registry: RegistryServer) -> None:
    image = build_image([BlobSpec(100, seed=1)])
    names = [f"ns{n}/app{n}" for n in range(7)]
    for name in names:
        push_image(registry, name, "v1", image)

    async with RegistryClient(registry.host) as client:
        listed = [name async for name in client.list_repositories(page_size=2)]
        requests = client.stats.requests

    assert sorted(listed) == sorted(names)
    assert requests >= 4  # 7 repositories, 2 per page


async def test_tag_pagination_returns_every_tag(registry: RegistryServer) -> None:
    image = build_image([BlobSpec(100, seed=2)])
    tags = [f"v{n}" for n in range(5)]
    for tag in tags:
        push_image(registry, "library/app", tag, image)

    async with RegistryClient(registry.host) as client:
        listed = await client.list_tags("library/app", page_size=2)

    assert sorted(listed) == sorted(tags)


async def test_manifest_head_and_get_agree_on_the_digest(registry: RegistryServer) -> None:
    image = build_image([BlobSpec(100, seed=3)], oci=True)
    push_image(registry, "library/app", "v1", image)

    async with RegistryClient(registry.host) as client:
        info = await client.head_manifest("library/app", "v1")
        manifest = await client.get_manifest("library/app", "v1")

    assert info is not None
    assert str(info.digest) == image.digest == str(manifest.digest)
    assert manifest.raw == image.manifest_bytes
    assert info.media_type == manifest.media_type == image.media_type
