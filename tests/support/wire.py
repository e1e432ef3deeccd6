"""HTTP/1.1 framing on asyncio streams, just enough for the test proxies.

Why separate: the proxy's decision logic is easier to read without the byte
shuffling, and these helpers are the part that must be right for large,
streamed and chunked bodies.  Test-only code.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator

PIECE = 64 * 1024
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "expect", "upgrade", "te"}


async def read_head(reader: asyncio.StreamReader) -> tuple[str, list[tuple[str, str]]] | None:
    """Start line and headers of the next message, or ``None`` at a clean end of stream."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    first, *lines = raw.decode("latin-1").split("\r\n")
    headers = [(k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines if ln)]
    return first, headers


def header(headers: list[tuple[str, str]], name: str) -> str | None:
    """First value of a header; ``name`` must be lower case."""
    return next((v for k, v in headers if k.lower() == name), None)


async def iter_body(
    reader: asyncio.StreamReader, headers: list[tuple[str, str]], *, eof: bool
) -> AsyncIterator[bytes]:
    """Yield the de-chunked body framed by ``headers`` (``eof``: read to EOF when unframed)."""
    if (header(headers, "transfer-encoding") or "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                return
            while size:
                piece = await reader.readexactly(min(PIECE, size))
                size -= len(piece)
                yield piece
            await reader.readexactly(2)
    elif (length := header(headers, "content-length")) is not None:
        remaining = int(length)
        while remaining:
            piece = await reader.readexactly(min(PIECE, remaining))
            remaining -= len(piece)
            yield piece
    elif eof:
        while piece := await reader.read(PIECE):
            yield piece


def abort_with_reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST so the peer sees a reset, not a clean end of stream."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
