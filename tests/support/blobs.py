"""Deterministic test blobs that can be gigabytes without ever living in memory.

Why: transfer tests need large layers (256 MiB, 1 GiB) whose digest is known
up front, and identical content across runs so failures are reproducible.
Content is a function of ``(size, seed)`` only: each 1 MiB chunk is a 32-byte
per-chunk header (sha256 of seed and chunk index) followed by a per-seed random
block.  The unique headers make any shifted, dropped or duplicated range change
the bytes (and hence the digest), while generation costs a memcpy, not a PRNG.
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

CHUNK = 1 << 20
LARGE = 8 << 20  # at or above this size, never materialise a blob in memory


@functools.lru_cache(maxsize=32)
def _base_block(seed: int) -> bytes:
    return random.Random(f"ferry-test-blob/{seed}").randbytes(CHUNK)


def _chunk(seed: int, index: int, length: int) -> bytes:
    header = hashlib.sha256(f"{seed}/{index}".encode()).digest()
    return (header + _base_block(seed)[len(header) : length])[:length]


def generate(size: int, seed: int) -> Iterator[bytes]:
    """Yield the content of blob ``(size, seed)`` in chunks of at most 1 MiB."""
    for index, start in enumerate(range(0, size, CHUNK)):
        yield _chunk(seed, index, min(CHUNK, size - start))


@functools.lru_cache(maxsize=256)
def _generated_digest(size: int, seed: int) -> str:
    hasher = hashlib.sha256()
    for chunk in generate(size, seed):
        hasher.update(chunk)
    return "sha256:" + hasher.hexdigest()


@dataclass(frozen=True)
class BlobSpec:
    """A blob: generated from ``(size, seed)``, or literal ``data`` (configs, hand-made bytes).

    ``media_type`` is optional: when ``None`` the image builder picks the
    Docker or OCI layer type.  ``digest`` is computed once per process and
    cached, streaming the content.
    """

    size: int
    seed: int = 0
    media_type: str | None = None
    data: bytes | None = None

    @classmethod
    def of(cls, data: bytes, media_type: str | None = None) -> BlobSpec:
        return cls(size=len(data), media_type=media_type, data=data)

    @property
    def is_large(self) -> bool:
        return self.size >= LARGE

    @property
    def digest(self) -> str:
        if self.data is not None:
            return "sha256:" + hashlib.sha256(self.data).hexdigest()
        return _generated_digest(self.size, self.seed)

    @property
    def hex(self) -> str:
        return self.digest.removeprefix("sha256:")

    def iter_chunks(self) -> Iterator[bytes]:
        """The content as ≤ 1 MiB chunks (the only way to read a large blob)."""
        if self.data is not None:
            for start in range(0, len(self.data), CHUNK):
                yield self.data[start : start + CHUNK]
        else:
            yield from generate(self.size, self.seed)

    def read(self) -> bytes:
        """Whole content; refuses large blobs so a test cannot accidentally load 1 GiB."""
        if self.data is not None:
            return self.data
        if self.is_large:
            raise ValueError(f"refusing to materialise a {self.size}-byte blob; use iter_chunks()")
        return b"".join(generate(self.size, self.seed))

    def descriptor(self, media_type: str | None = None) -> dict[str, object]:
        """OCI/Docker descriptor dict (``mediaType``, ``size``, ``digest``)."""
        chosen = media_type or self.media_type
        if chosen is None:
            raise ValueError("blob has no media type; pass one")
        return {"mediaType": chosen, "size": self.size, "digest": self.digest}
