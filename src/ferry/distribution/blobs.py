"""Reading a blob as a stream of chunks, with transport failures translated."""

from __future__ import annotations

from collections.abc import AsyncIterator

from ferry.distribution.failures import error_for_exception
from ferry.distribution.transport import Reply, TransportFailure
from ferry.errors import RequestContext


class BlobReader:
    """The body of a blob download. ``size`` is the number of bytes ``chunks()`` will yield, if known."""

    def __init__(self, response: Reply, *, context: RequestContext, skip: int = 0) -> None:
        self._response = response
        self._context = context
        self._skip = skip
        length = response.headers.get("content-length")
        self.size: int | None = int(length) - skip if length is not None else None

    async def chunks(self) -> AsyncIterator[bytes]:
        skip = self._skip
        try:
            async for chunk in self._response.chunks():
                if skip:
                    if len(chunk) <= skip:
                        skip -= len(chunk)
                        continue
                    chunk, skip = chunk[skip:], 0
                yield chunk
        except TransportFailure as exc:
            raise error_for_exception(exc, self._context, "blob download interrupted") from exc
