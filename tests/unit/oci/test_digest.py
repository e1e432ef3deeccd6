from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferry.errors import IntegrityError, InvalidInput
from ferry.oci.digest import Digest, DigestVerifier


def test_parse_round_trips() -> None:
    text = "sha256:" + hashlib.sha256(b"x").hexdigest()
    assert str(Digest.parse(text)) == text


@pytest.mark.parametrize(
    "text", ["sha256:abc", "md5:" + "a" * 32, "sha256" + "a" * 64, "sha256:" + "A" * 64, "sha256:" + "g" * 64]
)
def test_parse_rejects_malformed_digests(text: str) -> None:
    with pytest.raises(InvalidInput):
        Digest.parse(text)


@given(st.lists(st.binary(max_size=200), max_size=20))
def test_verifier_accepts_the_right_bytes_in_any_chunking(chunks: list[bytes]) -> None:
    data = b"".join(chunks)
    verifier = DigestVerifier(Digest.of(data), len(data))
    for chunk in chunks:
        verifier.update(chunk)
    verifier.verify()


def test_verifier_rejects_wrong_content_of_the_right_size() -> None:
    verifier = DigestVerifier(Digest.of(b"good"), 4)
    verifier.update(b"evil")
    with pytest.raises(IntegrityError, match="does not match its digest"):
        verifier.verify()


def test_verifier_stops_a_stream_that_is_longer_than_promised() -> None:
    verifier = DigestVerifier(Digest.of(b"abc"), 3)
    with pytest.raises(IntegrityError, match="larger than its descriptor"):
        verifier.update(b"abcd")


def test_verifier_rejects_a_short_stream() -> None:
    verifier = DigestVerifier(Digest.of(b"abc"), 3)
    verifier.update(b"ab")
    with pytest.raises(IntegrityError, match="has 2 bytes"):
        verifier.verify()


def test_snapshot_and_restore_resume_hashing_at_an_offset() -> None:
    data = bytes(range(256)) * 10
    verifier = DigestVerifier(Digest.of(data), len(data))
    verifier.update(data[:1000])
    saved = verifier.snapshot()
    verifier.update(b"garbage that was never committed")
    verifier.restore(saved)
    verifier.update(data[1000:])
    verifier.verify()
