"""Human sizes and rates: ``10M``, ``512KiB``, ``50MB/s``, ``100Mbit``."""

from __future__ import annotations

import re

from ferry.errors import InvalidInput

_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(i?b|bit)?(?:/s)?\s*$", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def parse_size(text: str, *, option: str) -> int:
    """Bytes from ``text``. K/M/G are powers of 1024 like curl's ``--limit-rate``; ``bit`` divides by 8."""
    match = _SIZE.match(text)
    if not match:
        raise InvalidInput(
            f"{option}: cannot read {text!r} as a size",
            hint="write a number with an optional unit: 500K, 20M, 1.5G, 100Mbit",
        )
    number, prefix, unit = match.groups()
    value = float(number) * 1024 ** _POWERS[prefix.lower()]
    if unit and unit.lower() == "bit":
        value /= 8
    return int(value)


def format_bytes(amount: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(amount) < 1024 or unit == "GiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} TiB"
