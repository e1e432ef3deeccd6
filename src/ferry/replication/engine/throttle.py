"""Bandwidth limiting and transfer slots (largest first, small blobs in a lane of their own),
shared by every transfer of a run."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from types import TracebackType


class BandwidthLimiter:
    """A token bucket in bytes per second; ``None`` means unlimited.

    Tokens refill continuously; a burst of at most a quarter second's worth is allowed so the
    average rate holds over any window longer than that.
    """

    def __init__(
        self,
        bytes_per_second: int | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = bytes_per_second if bytes_per_second and bytes_per_second > 0 else None
        self._burst = (self.rate or 0) / 4
        self._tokens = self._burst
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = asyncio.Lock()

    async def consume(self, amount: int) -> None:
        if self.rate is None or amount <= 0:
            return
        async with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= amount
            if self._tokens < 0:
                await self._sleep(-self._tokens / self.rate)


class PrioritySlots:
    """A semaphore whose waiters are served highest priority first (largest blob first).

    Big layers start early so they do not become the long tail of a run; small ones fill the
    gaps. Ties keep arrival order.
    """

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self._capacity = slots
        self._free = slots
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @property
    def in_use(self) -> int:
        """Slots held right now (a slot handed from one holder to a waiter stays in use)."""
        return self._capacity - self._free

    def slot(self, priority: int) -> _Slot:
        return _Slot(self, priority)

    async def acquire(self, priority: int) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (-priority, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()
            else:
                self._waiters = [entry for entry in self._waiters if entry[2] is not future]
                heapq.heapify(self._waiters)
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1


class _Slot:
    def __init__(self, slots: PrioritySlots, priority: int) -> None:
        self._slots = slots
        self._priority = priority

    async def __aenter__(self) -> None:
        await self._slots.acquire(self._priority)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._slots.release()


#: Blobs below this size spend more time on round trips than on the wire (a 30 ms round trip at
#: 400 Mbit/s carries 1.5 MB): image configs, small app layers.
SMALL_BLOB = 1024 * 1024


class TransferSlots:
    """Two lanes of ``slots`` each: blobs of at least :data:`SMALL_BLOB` largest first, and smaller
    ones in arrival order.

    With one largest-first queue, every image config (a kilobyte or two) waited until the last big
    layer had a slot, so the end of a run was hundreds of round-trip-bound uploads and manifest
    PUTs with the link idle. Small blobs barely use bandwidth; moving them beside the big ones lets
    images complete throughout the run.
    """

    def __init__(self, slots: int) -> None:
        self._large = PrioritySlots(slots)
        self._small = PrioritySlots(slots)

    @property
    def in_use(self) -> int:
        return self._large.in_use + self._small.in_use

    def slot(self, size: int) -> _Slot:
        if size < SMALL_BLOB:
            return self._small.slot(0)
        return self._large.slot(size)
