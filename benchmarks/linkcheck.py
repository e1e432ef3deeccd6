"""The link emulator's self-test: does it really deliver the configured delay and bandwidth?

Why: every benchmark number depends on the emulated link being what it claims. A sink server sits
behind a fresh :class:`LinkEmulator`; pings measure the round trip, bulk transfers over one and four
connections (each way) measure the shared bandwidth. ``python benchmarks/linkemu.py --selftest``
prints the result; ``benchmarks/run.py`` records it with every run.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from benchmarks.linkemu import READ_SIZE, LinkConfig, LinkEmulator


async def _sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Test upstream: ``P`` → ``P`` (ping); ``U<n>\\n`` + n bytes → ``K``; ``D<n>\\n`` → n bytes."""
    block = bytes(READ_SIZE)
    try:
        while True:
            command = await reader.readexactly(1)
            if command == b"U":
                remaining = int(await reader.readline())
                while remaining > 0:
                    chunk = await reader.read(min(remaining, READ_SIZE))
                    if not chunk:
                        return
                    remaining -= len(chunk)
                writer.write(b"K")
            elif command == b"D":
                remaining = int(await reader.readline())
                while remaining > 0:
                    writer.write(block[: min(remaining, READ_SIZE)])
                    remaining -= READ_SIZE
                    await writer.drain()
            else:
                writer.write(command)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _ping(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    writer.write(b"P")
    await writer.drain()
    await reader.readexactly(1)
    return loop.time() - started


async def _transfer(port: int, size: int, *, upload: bool) -> float:
    """Seconds from request to completion (``K`` after an upload, last byte of a download)."""
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2 * READ_SIZE)
    try:
        await _ping(reader, writer)  # connection established: the handshake is not measured here
        block = bytes(range(256)) * (READ_SIZE // 256)
        started = loop.time()
        writer.write(f"{'U' if upload else 'D'}{size}\n".encode())
        if upload:
            remaining = size
            while remaining > 0:
                writer.write(block[: min(remaining, READ_SIZE)])
                remaining -= READ_SIZE
                await writer.drain()
            await reader.readexactly(1)
        else:
            remaining = size
            while remaining > 0:
                chunk = await reader.read(READ_SIZE)
                if not chunk:
                    raise ConnectionError("download cut short")
                remaining -= len(chunk)
        return loop.time() - started
    finally:
        writer.close()


@dataclass(frozen=True)
class LinkCheck:
    """What :func:`check_link` measured, next to what the configuration promises."""

    config: LinkConfig
    rtt_ms: float
    first_reply_ms: float
    mbit: dict[str, float]
    connections: int

    def rows(self) -> list[tuple[str, float, float, str, float]]:
        """``(label, measured, expected, unit, tolerance)`` for every figure."""
        rtt = 2 * self.config.delay * 1e3
        rate = self.config.rate_bits / 1e6
        hs = self.config.handshake
        rows = [
            ("round trip, median of 21 pings", self.rtt_ms, rtt, "ms", 0.1),
            ("first reply on a new connection", self.first_reply_ms, rtt * (2 if hs else 1), "ms", 0.1),
        ]
        rows += [(label, value, rate, "Mbit/s", 0.05) for label, value in self.mbit.items()]
        return rows

    @property
    def ok(self) -> bool:
        return all(abs(m - e) <= t * e for _, m, e, _, t in self.rows())


async def check_link(config: LinkConfig, size: int = 100_000_000) -> LinkCheck:
    """Measure round trip and throughput through a fresh emulator in front of a sink server."""
    sink = await asyncio.start_server(_sink, "127.0.0.1", 0, limit=2 * READ_SIZE)
    sink_port = sink.sockets[0].getsockname()[1]
    mbit: dict[str, float] = {}
    async with sink, LinkEmulator("127.0.0.1", sink_port, config) as emulator:
        loop = asyncio.get_running_loop()
        started = loop.time()
        reader, writer = await asyncio.open_connection("127.0.0.1", emulator.port)
        await _ping(reader, writer)
        first = loop.time() - started
        pings = sorted([await _ping(reader, writer) for _ in range(21)])
        writer.close()
        rtt = pings[len(pings) // 2]
        for label, upload, parallel in (
            ("upload, 1 connection", True, 1),
            ("download, 1 connection", False, 1),
            ("upload, 4 connections sharing the link", True, 4),
            ("download, 4 connections sharing the link", False, 4),
        ):
            times = await asyncio.gather(
                *(_transfer(emulator.port, size // parallel, upload=upload) for _ in range(parallel))
            )
            # Subtract one round trip (request out, answer back); what is left is serialisation.
            mbit[label] = size * 8 / (max(times) - rtt) / 1e6
        connections = emulator.stats().connections
    return LinkCheck(config, rtt * 1e3, first * 1e3, mbit, connections)


def selftest(config: LinkConfig) -> bool:
    """Print the measurements next to the configuration; True when all are within tolerance."""
    size = 100_000_000
    check = asyncio.run(check_link(config, size))
    rate = config.rate_bits / 1e6
    print(f"linkemu self-test: {config.delay * 1e3:g} ms one way, {rate:g} Mbit/s shared per direction")
    for label, measured, expected, unit, tolerance in check.rows():
        verdict = "ok" if abs(measured - expected) <= tolerance * expected else "OFF"
        if unit == "Mbit/s":
            label = f"{label}, {size / 1e6:g} MB"
        print(f"  {label:<50} {measured:7.1f} {unit:<6} (expect {expected:g} ±{tolerance:.0%})  {verdict}")
    print("PASS" if check.ok else "FAIL: the emulator does not deliver the configured link on this machine")
    return check.ok
