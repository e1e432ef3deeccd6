"""Content digests (``algorithm:hex``) and streaming verification."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ferry.errors import IntegrityError, InvalidInput

_DIGEST = re.compile(r"^(?P<algorithm>[a-z0-9]+(?:[.+_-][a-z0-9]+)*):(?P<hex>[a-zA-Z0-9=_-]+)$")
_HEX_LENGTH = {"sha256": 64, "sha512": 128}


@dataclass(frozen=True, order=True)
class Digest:
    """A validated content digest such as ``sha256:2c26b46b...``."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        match = _DIGEST.match(text)
        if not match:
            raise InvalidInput(
                f"invalid digest {text!r}", hint="expected algorithm:hex, e.g. sha256:<64 hex>"
            )
        algorithm, hex_part = match.group("algorithm"), match.group("hex")
        expected = _HEX_LENGTH.get(algorithm)
        if expected is None:
            raise InvalidInput(f"unsupported digest algorithm in {text!r}", hint="use sha256 or sha512")
        if len(hex_part) != expected or not re.fullmatch(r"[0-9a-f]+", hex_part):
            raise InvalidInput(
                f"invalid {algorithm} digest {text!r}", hint=f"expected {expected} lowercase hex"
            )
        return cls(algorithm, hex_part)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @property
    def short(self) -> str:
        return f"{self.algorithm}:{self.hex[:12]}"


class DigestVerifier:
    """Hashes a stream as it passes and checks it against the expected digest and size.

    ``snapshot``/``restore`` let a resumed upload continue hashing from a known offset.
    """

    def __init__(self, expected: Digest, expected_size: int | None) -> None:
        self.expected = expected
        self.expected_size = expected_size
        self._hash = hashlib.new(expected.algorithm)
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self.size += len(chunk)
        if self.expected_size is not None and self.size > self.expected_size:
            raise IntegrityError(
                f"blob {self.expected.short} is larger than its descriptor says "
                f"({self.size} > {self.expected_size} bytes)"
            )

    def snapshot(self) -> tuple[int, hashlib._Hash]:
        return self.size, self._hash.copy()

    def restore(self, state: tuple[int, hashlib._Hash]) -> None:
        self.size, saved = state
        self._hash = saved.copy()

    def verify(self) -> None:
        if self.expected_size is not None and self.size != self.expected_size:
            raise IntegrityError(
                f"blob {self.expected.short} has {self.size} bytes "
                f"but its descriptor says {self.expected_size}"
            )
        actual = self._hash.hexdigest()
        if actual != self.expected.hex:
            raise IntegrityError(
                f"blob content does not match its digest: expected {self.expected}, got "
                f"{self.expected.algorithm}:{actual}"
            )
