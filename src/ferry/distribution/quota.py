"""A registry's pull quota, read from its ``RateLimit`` headers (Docker Hub).

Docker Hub counts every manifest GET as one pull and answers ``ratelimit-limit: 100;w=21600`` and
``ratelimit-remaining: 76;w=21600`` on manifest requests; HEAD requests are free. ferry already
checks digests with HEAD, so only images that really change are pulled. This gate adds the rest:
never more manifest downloads in flight than pulls remain (concurrent workers would otherwise
overshoot the quota together), and no request at all once the quota is used up, so the registry
never has to answer 429. The task that meets the empty quota fails with a curable error and
retries later, when the rolling window has given pulls back.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ferry.errors import RequestContext, Unavailable

_VALUE = re.compile(r"^\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?")


@dataclass(frozen=True)
class QuotaReading:
    """One ``RateLimit-*`` header pair: pulls allowed per window and pulls left now."""

    limit: int
    remaining: int
    window_seconds: int | None = None


def read_quota(headers: Mapping[str, str]) -> QuotaReading | None:
    """The quota a response announces, or None when it announces none."""
    limit = _VALUE.match(headers.get("ratelimit-limit", ""))
    remaining = _VALUE.match(headers.get("ratelimit-remaining", ""))
    if limit is None or remaining is None:
        return None
    window = limit.group(2) or remaining.group(2)
    return QuotaReading(int(limit.group(1)), int(remaining.group(1)), int(window) if window else None)


class PullQuota:
    """Admits manifest downloads while pulls remain. Unknown quota (before the first answer, or a
    registry that sends no headers) admits everything."""

    def __init__(self, registry: str) -> None:
        self._registry = registry
        self._reading: QuotaReading | None = None
        self._in_flight = 0
        self._changed = asyncio.Condition()

    @property
    def reading(self) -> QuotaReading | None:
        return self._reading

    async def before_pull(self) -> None:
        """Wait until a pull may go out; ``Unavailable`` when none are left."""
        async with self._changed:
            while True:
                reading = self._reading
                if reading is None or reading.remaining - self._in_flight > 0:
                    self._in_flight += 1
                    return
                if self._in_flight == 0:
                    raise self._used_up(reading)
                await self._changed.wait()  # an answer in flight will say how many are left

    def note(self, headers: Mapping[str, str]) -> None:
        """Learn the quota from an answer that spent none (a manifest HEAD)."""
        reading = read_quota(headers)
        if reading is not None:
            self._reading = reading

    async def after_pull(self, headers: Mapping[str, str] | None) -> None:
        """End an admitted pull (exactly once per ``before_pull``), with its answer's headers, or
        None when it got no answer."""
        async with self._changed:
            self._in_flight = max(0, self._in_flight - 1)
            reading = read_quota(headers) if headers is not None else None
            if reading is not None:
                self._reading = reading
            self._changed.notify_all()

    def _used_up(self, reading: QuotaReading) -> Unavailable:
        window = f" per {_hours(reading.window_seconds)}" if reading.window_seconds else ""
        return Unavailable(
            f"pull quota used up: 0 of {reading.limit} pulls{window} left; ferry stopped before the "
            "registry would answer 429",
            context=RequestContext(self._registry, operation="get manifest"),
            status=429,
            hint="the task retries later, when the window has given pulls back; signing in to the "
            "registry raises the quota",
        )


def _hours(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds} s"
