from __future__ import annotations

import asyncio

import pytest

from ferry.replication.engine.throttle import SMALL_BLOB, BandwidthLimiter, PrioritySlots, TransferSlots


class FakeClock:
    """Virtual time: ``sleep`` advances the clock instead of waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def limiter(rate: int | None, clock: FakeClock) -> BandwidthLimiter:
    return BandwidthLimiter(rate, clock=clock.monotonic, sleep=clock.sleep)


async def test_limiter_holds_the_average_rate(clock: FakeClock) -> None:
    bucket = limiter(1000, clock)
    for _ in range(40):
        await bucket.consume(100)
    # 4000 bytes at 1000 B/s, minus the initial quarter-second burst allowance
    assert clock.now == pytest.approx(4.0 - 0.25)


async def test_unlimited_limiter_never_sleeps(clock: FakeClock) -> None:
    bucket = limiter(None, clock)
    await bucket.consume(10**9)
    assert clock.slept == []


async def test_limiter_refills_during_idle_time(clock: FakeClock) -> None:
    bucket = limiter(1000, clock)
    await bucket.consume(250)
    clock.now += 10  # idle: the bucket refills only up to its burst size
    await bucket.consume(250)
    assert clock.slept == []
    await bucket.consume(500)
    assert clock.slept == [pytest.approx(0.5)]


async def test_slots_serve_the_largest_waiter_first() -> None:
    slots = PrioritySlots(1)
    order: list[int] = []
    await slots.acquire(0)

    async def wait(size: int) -> None:
        async with slots.slot(size):
            order.append(size)

    tasks = [asyncio.create_task(wait(size)) for size in (10, 5000, 30, 5000, 700)]
    await asyncio.sleep(0)
    slots.release()
    await asyncio.gather(*tasks)
    assert order == [5000, 5000, 700, 30, 10]


async def test_cancelled_waiter_gives_its_turn_to_the_next() -> None:
    slots = PrioritySlots(1)
    await slots.acquire(0)
    big = asyncio.create_task(slots.acquire(100))
    small = asyncio.create_task(slots.acquire(1))
    await asyncio.sleep(0)
    big.cancel()
    await asyncio.sleep(0)
    slots.release()
    await asyncio.wait_for(small, timeout=5)
    assert small.done()
    assert not small.cancelled()


async def test_slots_never_exceed_their_count() -> None:
    slots = PrioritySlots(3)
    running = 0
    peak = 0

    async def work(size: int) -> None:
        nonlocal running, peak
        async with slots.slot(size):
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0)
            running -= 1

    await asyncio.gather(*(work(size) for size in range(50)))
    assert peak == 3


async def test_small_blobs_do_not_wait_behind_big_ones() -> None:
    slots = TransferSlots(1)
    # the only large-lane slot is taken, and a config blob still gets going at once
    async with slots.slot(SMALL_BLOB * 10), slots.slot(SMALL_BLOB - 1):
        assert slots.in_use == 2


async def test_small_blobs_keep_arrival_order_and_big_ones_go_largest_first() -> None:
    slots = TransferSlots(1)
    order: list[int] = []

    async def move(size: int) -> None:
        async with slots.slot(size):
            order.append(size)
            await asyncio.sleep(0)

    sizes = [SMALL_BLOB, 30, SMALL_BLOB * 8, 10, SMALL_BLOB * 2, 20]
    async with slots.slot(SMALL_BLOB), slots.slot(1):  # both lanes busy while everyone queues
        tasks = [asyncio.create_task(move(size)) for size in sizes]
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    large = [size for size in order if size >= SMALL_BLOB]
    small = [size for size in order if size < SMALL_BLOB]
    assert large == [SMALL_BLOB * 8, SMALL_BLOB * 2, SMALL_BLOB]
    assert small == [30, 10, 20]
    assert slots.in_use == 0
