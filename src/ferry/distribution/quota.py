"""A registry's pull quota, read from its ``RateLimit`` headers (Docker Hub).

Docker Hub counts every manifest GET as one pull and answers ``ratelimit-limit: 100;w=21600`` and
``ratelimit-remaining: 76;w=21600`` on manifest requests; HEAD requests are free. ferry already
checks digests with HEAD, so only images that really change are pulled. This gate adds the rest:
never more manifest downloads in flight than pulls remain (concurrent workers would otherwise
overshoot the quota together), and no request at all once the quota is used up, so the registry
never has to answer 429. The task that meets the empty quota fails with a curable error and
retries later, when the rolling window has given pulls back.

How the estimate stays safe with answers arriving out of order: an answer says how many pulls
were left when the registry served it. An answer processed after another answer that came back
while it was out may have been served before that one, so it is stale: it may lower the estimate,
never raise it. Only an answer nothing overtook may raise it (the window gave pulls back). Pulls
admitted and not yet answered are subtracted from the estimate.

Before the first answer the quota is unknown: the first pull goes out alone, as a probe, and the
others wait for its answer. A successful answer without headers means the registry announces no
quota, and from then on everything is admitted.

One gate serves every client of the same registry and account in a process (``shared_quota``):
Docker Hub counts pulls per account (per address when anonymous), not per connection.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, replace

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
    limit = _VALUE.match(_header(headers, "ratelimit-limit"))
    remaining = _VALUE.match(_header(headers, "ratelimit-remaining"))
    if limit is None or remaining is None:
        return None
    window = limit.group(2) or remaining.group(2)
    return QuotaReading(int(limit.group(1)), int(remaining.group(1)), int(window) if window else None)


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:  # a plain dict: header names in any case
        value = next((v for k, v in headers.items() if k.lower() == name), "")
    return value


@dataclass(frozen=True)
class Ticket:
    """One request whose answer will say how many pulls are left: how many answers had been
    taken in when it went out (to tell whether another overtook it)."""

    version: int


class PullQuota:
    """Admits manifest downloads while pulls remain; see the module docstring.

    Every ``before_pull`` is paired with one ``after_pull`` with its ticket and the answer; a free
    request (a manifest HEAD) takes a ``ticket`` before it goes out and hands it to ``note`` with
    its answer."""

    def __init__(self, registry: str) -> None:
        self._registry = registry
        self._reading: QuotaReading | None = None
        self._announced: bool | None = None
        """None: no answer yet; False: a successful answer carried no quota headers."""
        self._version = 0
        self._in_flight = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Condition | None = None

    @property
    def reading(self) -> QuotaReading | None:
        """The last estimate: pulls left when the freshest answer was served, less those spent by
        answers that came back since."""
        return self._reading

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def _condition(self) -> asyncio.Condition:
        loop = asyncio.get_running_loop()
        if self._changed is None or self._loop is not loop:
            # a gate outlives the loop it first served only in tests; start afresh on a new one
            if self._loop is not None:
                self._reading, self._announced, self._in_flight = None, None, 0
            self._loop, self._changed = loop, asyncio.Condition()
        return self._changed

    def ticket(self) -> Ticket:
        """Take before sending a free request whose answer carries the quota (a manifest HEAD)."""
        return Ticket(self._version)

    def available(self) -> int | None:
        """Pulls that may go out now; None when unlimited (no quota announced)."""
        if self._reading is None:
            if self._announced is False:
                return None
            return 1 - self._in_flight  # unknown: one probe at a time
        return self._reading.remaining - self._in_flight

    async def before_pull(self) -> Ticket:
        """Wait until a pull may go out; ``Unavailable`` when none are left."""
        changed = self._condition()
        async with changed:
            while True:
                room = self.available()
                if room is None or room > 0:
                    self._in_flight += 1
                    return Ticket(self._version)
                if self._in_flight == 0:
                    assert self._reading is not None
                    raise self._used_up(self._reading)
                await changed.wait()  # an answer in flight will say how many are left

    def note(self, ticket: Ticket, headers: Mapping[str, str], status: int) -> None:
        """Take in the answer to a free request. Nobody needs waking: waiters wait for pulls in
        flight, which wake them when they end."""
        self._take(ticket, headers, status)

    async def after_pull(self, ticket: Ticket, headers: Mapping[str, str] | None, status: int | None) -> None:
        """End an admitted pull with its answer's headers and status, or None, None when it got
        no answer."""
        changed = self._condition()
        async with changed:
            self._in_flight = max(0, self._in_flight - 1)
            if headers is not None and status is not None:
                self._take(ticket, headers, status)
            elif self._reading is not None:  # it may have been served: count it as spent
                self._reading = replace(self._reading, remaining=max(0, self._reading.remaining - 1))
            changed.notify_all()

    def _take(self, ticket: Ticket, headers: Mapping[str, str], status: int) -> None:
        reading = read_quota(headers)
        if reading is None:
            # only a successful answer speaks for the registry (a 401 may come from a proxy or
            # the auth layer, which never carry the headers)
            if 200 <= status < 300 and self._reading is None:
                self._announced = False
            return
        current = self._reading
        if current is not None and ticket.version != self._version:
            # another answer came back while this one was out: this one may be older
            reading = replace(reading, remaining=min(reading.remaining, current.remaining))
        self._reading = reading
        self._announced = True
        self._version += 1

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


_SHARED: weakref.WeakValueDictionary[tuple[str, str], PullQuota] = weakref.WeakValueDictionary()


def shared_quota(registry: str, account: str | None) -> PullQuota:
    """The gate of ``registry`` for ``account`` (None: anonymous), shared by every client in the
    process that holds it."""
    key = (registry, account or "")
    quota = _SHARED.get(key)
    if quota is None:
        quota = PullQuota(registry)
        _SHARED[key] = quota
    return quota


def _hours(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds} s"
