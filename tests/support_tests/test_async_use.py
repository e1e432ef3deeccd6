"""The threaded servers work from inside an asyncio test (the product's client is async)."""

from __future__ import annotations

import httpx

from tests.support.blobs import BlobSpec
from tests.support.faults import FlakyProxy
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer


async def test_proxy_started_inside_a_running_loop(registry: RegistryServer) -> None:
    image = build_image([BlobSpec(2000, 21)])
    push_image(registry, "async/app", "v1", image)
    with FlakyProxy(registry, fail_statuses=[429], retry_after="0") as proxy:
        async with httpx.AsyncClient(base_url=proxy.url) as client:
            url = f"/v2/async/app/blobs/{image.layers[0].digest}"
            assert (await client.get(url)).status_code == 429
            resp = await client.get(url)
            assert resp.content == image.layers[0].read()
