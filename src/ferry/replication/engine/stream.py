"""Reading a source blob in measured pieces, hashing every byte, resumable at any offset."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

from ferry.distribution.client import RegistryClient
from ferry.errors import IntegrityError
from ferry.oci.descriptor import Descriptor
from ferry.oci.digest import DigestVerifier
from ferry.replication.engine.progress import BytesMoved, ProgressSink
from ferry.replication.engine.throttle import BandwidthLimiter


class SourceCursor:
    """A position in a source blob. ``take`` yields the next bytes for an upload body.

    The last piece of the blob is held back until the digest and size check out, so a corrupt
    source never completes an upload: the request is aborted instead.
    """

    def __init__(
        self,
        client: RegistryClient,
        repository: str,
        blob: Descriptor,
        *,
        limiter: BandwidthLimiter,
        emit: ProgressSink,
        destination_repository: str = "",
    ) -> None:
        self.client = client
        self.destination_repository = destination_repository
        self.repository = repository
        self.blob = blob
        self.verifier = DigestVerifier(blob.digest, blob.size)
        self._limiter = limiter
        self._emit = emit
        self._stack = AsyncExitStack()
        self._chunks: AsyncIterator[bytes] | None = None
        self._leftover = b""

    @property
    def position(self) -> int:
        return self.verifier.size

    async def open(self, offset: int = 0) -> None:
        """(Re)open the source stream at ``offset`` (hash state must already match ``offset``)."""
        await self.close()
        self._stack = AsyncExitStack()
        reader = await self._stack.enter_async_context(
            self.client.open_blob(self.repository, self.blob.digest, offset=offset)
        )
        expected = self.blob.size - offset
        if reader.size is not None and reader.size != expected:
            await self.close()
            raise IntegrityError(
                f"blob {self.blob.digest.short} in {self.client.registry}/{self.repository}: the registry "
                f"serves {reader.size} bytes from offset {offset} but the descriptor says {expected}"
            )
        self._chunks = aiter(reader.chunks())
        self._leftover = b""

    async def close(self) -> None:
        self._chunks = None
        self._leftover = b""
        await self._stack.aclose()

    async def take(self, length: int, *, final: bool) -> AsyncIterator[bytes]:
        """Yield exactly ``length`` bytes; with ``final`` the blob's digest is verified first."""
        remaining = length
        held: bytes | None = None
        while remaining:
            piece = await self._next_piece(remaining)
            self.verifier.update(piece)
            remaining -= len(piece)
            if held is not None:
                yield await self._send(held)
            held = piece
        if final:
            self.verifier.verify()
        if held is not None:
            yield await self._send(held)

    async def skip(self, length: int) -> None:
        """Hash ``length`` bytes without sending them (resuming after bytes the registry holds)."""
        remaining = length
        while remaining:
            piece = await self._next_piece(remaining)
            self.verifier.update(piece)
            remaining -= len(piece)

    async def _send(self, piece: bytes) -> bytes:
        await self._limiter.consume(len(piece))
        self._emit(BytesMoved(len(piece), self.destination_repository))
        return piece

    async def _next_piece(self, limit: int) -> bytes:
        if not self._leftover:
            if self._chunks is None:
                raise RuntimeError("SourceCursor.open() was not called")
            try:
                self._leftover = await anext(self._chunks)
            except StopAsyncIteration:
                raise IntegrityError(
                    f"blob {self.blob.digest.short} in {self.client.registry}/{self.repository} ended after "
                    f"{self.verifier.size} bytes but its descriptor says {self.blob.size}"
                ) from None
        piece, self._leftover = self._leftover[:limit], self._leftover[limit:]
        return piece
