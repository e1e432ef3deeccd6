from __future__ import annotations

import pytest

from ferry.cli.units import format_bytes, parse_size
from ferry.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100", 100),
        ("500K", 512_000),
        ("20M", 20 * 1024**2),
        ("1.5G", int(1.5 * 1024**3)),
        ("10MiB", 10 * 1024**2),
        ("100Mbit", 100 * 1024**2 // 8),
        ("50MB/s", 50 * 1024**2),
        ("2k", 2048),
    ],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text, option="--limit-rate") == expected


@pytest.mark.parametrize("text", ["", "fast", "10X", "-5M"])
def test_parse_size_rejects_nonsense_naming_the_option(text: str) -> None:
    with pytest.raises(InvalidInput, match="--limit-rate"):
        parse_size(text, option="--limit-rate")


def test_format_bytes() -> None:
    assert format_bytes(512) == "512 B"
    assert format_bytes(3 * 1024**2) == "3.0 MiB"
