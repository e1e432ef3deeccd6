"""The transport's two lanes: a transfer holding every bulk connection never holds up metadata."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from ferry.distribution.transport import Transport
from tests.support.registry import RegistryServer


async def test_a_request_goes_out_while_a_streamed_upload_holds_the_only_bulk_connection(
    registry: RegistryServer,
) -> None:
    transport = Transport(
        verify=False, max_connections=1, connect_timeout=5, idle_timeout=30, user_agent="ferry-test"
    )
    base = f"http://{registry.host}"
    opened = await transport.request("POST", f"{base}/v2/lanes/app/blobs/uploads/", headers={}, body=b"")
    assert opened.status_code == 202
    release = asyncio.Event()
    sending = asyncio.Event()

    async def held_body() -> AsyncIterator[bytes]:
        yield b"x" * 1024
        sending.set()
        await release.wait()
        yield b"y" * 1024

    upload = asyncio.create_task(
        transport.request(
            "PATCH",
            opened.join(opened.headers["location"]),
            headers={"Content-Type": "application/octet-stream"},
            body=held_body(),
        )
    )
    try:
        await asyncio.wait_for(sending.wait(), timeout=10)
        # One connection per lane: with a single pool this HEAD would wait for the upload.
        ping = await asyncio.wait_for(transport.request("GET", f"{base}/v2/", headers={}), timeout=5)
        assert ping.status_code == 200
        assert not upload.done()
        release.set()
        patched = await asyncio.wait_for(upload, timeout=10)
        assert patched.status_code == 202
        assert patched.headers["range"] == "0-2047"
    finally:
        release.set()
        upload.cancel()
        await transport.aclose()
