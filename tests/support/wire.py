"""HTTP/1.1 framing on asyncio streams, just enough for the test proxies.

Why separate: the proxy's decision logic is easier to read without the byte
shuffling, and these helpers are the part that must be right for large,
streamed and chunked bodies.  Test-only code.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
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


class UpstreamConnection:
    """A connection to the real server whose *reads survive a failed write*.

    Servers may answer early (401 before reading a large body) and reset the
    connection.  With a plain asyncio stream a failed write also poisons the
    reader, losing that answer.  For plain TCP we therefore read through a
    ``dup()`` of the socket and write with ``sock_sendall`` on the original, so
    the answer already queued in the kernel stays readable.  TLS cannot be
    split that way and uses an ordinary stream (early answers are best effort).
    """

    def __init__(
        self, reader: asyncio.StreamReader, stream: asyncio.StreamWriter, sock: socket.socket | None
    ) -> None:
        self.reader = reader
        self._stream = stream
        self._sock = sock

    @classmethod
    async def open(cls, host: str, port: int, tls: ssl.SSLContext | None) -> UpstreamConnection:
        if tls is not None:
            reader, writer = await asyncio.open_connection(host, port, ssl=tls, server_hostname=host)
            return cls(reader, writer, None)
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (host, port))
            reader, read_side = await asyncio.open_connection(sock=sock.dup())
        except BaseException:
            sock.close()
            raise
        return cls(reader, read_side, sock)

    async def send(self, data: bytes) -> None:
        if self._sock is None:
            self._stream.write(data)
            await self._stream.drain()
        else:
            await asyncio.get_running_loop().sock_sendall(self._sock, data)

    def write_eof(self) -> bool:
        """Half-close (FIN) so the server sees the end of what we sent; False if impossible."""
        if self._sock is None:
            return False
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_WR)
        return True

    def close(self) -> None:
        if not self._stream.is_closing():
            self._stream.close()
        if self._sock is not None:
            self._sock.close()
