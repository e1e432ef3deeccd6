"""A link emulator: a TCP proxy that adds one-way delay and a bandwidth cap shared by all connections.

Why: ferry's claim is about a far-away destination (a cloud registry 15 ms away behind 400 Mbit/s),
where round trips, connection set-up and serialised transfers dominate. On plain loopback every
tool looks instant. ``tc netem`` needs root and network namespaces; this proxy needs neither and
counts what crosses it (bytes each way, TCP connections), which is what the benchmark reports.

The model, for each direction (client→upstream is "up", upstream→client is "down"):

* **One serialisation queue shared by every connection.** A chunk starts transmitting when the link
  is free, occupies it for ``size / rate`` and arrives ``delay`` after its last byte left. Ten
  parallel connections share 400 Mbit/s; they do not get 400 Mbit/s each.
* **Connection set-up is free by default.** The kernel completes the handshake with the proxy at
  once. ``handshake=True`` (``--handshake``) holds a connection's first bytes one extra round trip,
  as SYN and SYN-ACK would on a real path, which makes every new connection cost what it really
  does; it is off by default because peers.md's skopeo numbers were measured without it.
* **Bounded buffering.** A connection reads its next chunk only when its previous one has started
  transmitting and keeps at most ``window`` bytes in flight, and the proxy's sockets have fixed
  1 MiB buffers, so a fast sender blocks (backpressure) instead of filling the proxy's memory.

Not modelled: packet loss, TCP slow start and congestion control (they would only penalise tools
that open many fresh connections further).

Use it as ``async with LinkEmulator(...)``, from synchronous code as ``with
BackgroundLinkEmulator(...)`` (its own event-loop thread), or from the command line::

    python benchmarks/linkemu.py --upstream 127.0.0.1:5000 --listen 127.0.0.1:6000
    python benchmarks/linkemu.py --selftest

This module imports nothing from the project, so it can be copied and run on its own; the
self-test (``--selftest``, :mod:`benchmarks.linkcheck`) measures it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

MiB = 1 << 20
#: Large reads keep the per-chunk Python overhead far below the link's 50 MB/s.
READ_SIZE = 256 * 1024
#: Fixed kernel buffers on the proxy's sockets: with autotuning they would grow to many MB and hide
#: the link's backpressure from the sender.
SOCKET_BUFFER = 1 * MiB
#: epoll rounds timeouts up to whole milliseconds, so a timer fires 0.3–1.3 ms late. Aiming 1 ms
#: early brings a 30 ms round trip to 29.5–30 ms instead of 31.3 ms (measured with ``--selftest``).
TIMER_SLACK = 0.001


@dataclass(frozen=True)
class LinkConfig:
    """The emulated path; the defaults are the benchmark's link (15 ms one way, 400 Mbit/s)."""

    delay: float = 0.015
    rate_bits: float = 400e6
    window: int = 8 * MiB
    handshake: bool = False

    @property
    def bytes_per_second(self) -> float:
        return self.rate_bits / 8


@dataclass(frozen=True)
class ConnectionRecord:
    """One accepted connection; times are seconds on the emulator's clock (``loop.time()``)."""

    opened: float
    closed: float | None
    bytes_up: int
    bytes_down: int


@dataclass(frozen=True)
class RequestRecord:
    """An HTTP request line seen going up (``HEAD /v2/…/manifests/v1 HTTP/1.1``), and when."""

    at: float
    connection: int
    line: str

    @property
    def method(self) -> str:
        return self.line.split(" ", 1)[0]


_METHODS = {b"GET", b"HEAD", b"PUT", b"POST", b"PATCH", b"DELETE", b"OPTIONS"}


@dataclass(frozen=True)
class LinkStats:
    """Counters at one moment; :meth:`since` turns two snapshots into the figures of one phase."""

    connections: int
    bytes_up: int
    bytes_down: int
    records: tuple[ConnectionRecord, ...]
    busy_up: tuple[tuple[float, float], ...] = ()
    requests: tuple[RequestRecord, ...] = ()

    def since(self, earlier: LinkStats) -> LinkStats:
        return LinkStats(
            connections=self.connections - earlier.connections,
            bytes_up=self.bytes_up - earlier.bytes_up,
            bytes_down=self.bytes_down - earlier.bytes_down,
            records=self.records[len(earlier.records) :],
            busy_up=self.busy_up,
            requests=self.requests[len(earlier.requests) :],
        )

    def requests_by_method(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for request in self.requests:
            counts[request.method] = counts.get(request.method, 0) + 1
        return dict(sorted(counts.items()))

    def busy_between(self, start: float, end: float) -> tuple[float, float | None, float | None]:
        """Up-link busy seconds in ``[start, end]``, and when the first and last byte went out.

        Times are ``time.monotonic()`` (the emulator's loop clock), so a caller can compare them
        with when it started a process: what was the link doing while the tool ran?
        """
        busy, first, last = 0.0, None, None
        for a, b in self.busy_up:
            a, b = max(a, start), min(b, end)
            if b > a:
                busy += b - a
                first = a if first is None else first
                last = b
        return busy, first, last

    @property
    def max_open(self) -> int:
        """Most connections open at the same time (a sweep over open/close events)."""
        events: list[tuple[float, int]] = []
        for record in self.records:
            events.append((record.opened, 1))
            if record.closed is not None:
                events.append((record.closed, -1))
        peak = current = 0
        for _, step in sorted(events):
            current += step
            peak = max(peak, current)
        return peak


class _Direction:
    """One direction of the link: the serialisation queue that every connection shares."""

    def __init__(self, bytes_per_second: float) -> None:
        self._bytes_per_second = bytes_per_second
        self._free_at = 0.0
        self.busy: list[tuple[float, float]] = []  # merged transmission intervals

    def book(self, now: float, size: int) -> tuple[float, float]:
        """Reserve the link for ``size`` bytes; returns when their transmission starts and ends."""
        start = max(now, self._free_at)
        self._free_at = end = start + size / self._bytes_per_second
        if self.busy and start <= self.busy[-1][1] + 1e-4:
            self.busy[-1] = (self.busy[-1][0], end)
        else:
            self.busy.append((start, end))
        return start, end


class _Counters:
    """Mutable per-connection byte counts (the frozen record is made at snapshot time)."""

    def __init__(self, opened: float) -> None:
        self.opened = opened
        self.closed: float | None = None
        self.up = 0
        self.down = 0


async def _sleep_until(loop: asyncio.AbstractEventLoop, when: float) -> None:
    wait = when - loop.time() - TIMER_SLACK
    if wait > 0:
        await asyncio.sleep(wait)


def _tune(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is None:
        return
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)


class LinkEmulator:
    """The proxy on one event loop: ``async with LinkEmulator(host, port) as emu: emu.port``."""

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        config: LinkConfig | None = None,
        *,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.config = config or LinkConfig()
        self._listen = (listen_host, listen_port)
        self._up = _Direction(self.config.bytes_per_second)
        self._down = _Direction(self.config.bytes_per_second)
        self._connections: list[_Counters] = []
        self._requests: list[RequestRecord] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> Self:
        self._server = await asyncio.start_server(
            self._accept, *self._listen, limit=2 * READ_SIZE, backlog=1024
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def stats(self) -> LinkStats:
        """A snapshot; call it on the emulator's loop (see :meth:`BackgroundLinkEmulator.stats`)."""
        records = tuple(ConnectionRecord(c.opened, c.closed, c.up, c.down) for c in self._connections)
        return LinkStats(
            connections=len(records),
            bytes_up=sum(r.bytes_up for r in records),
            bytes_down=sum(r.bytes_down for r in records),
            records=records,
            busy_up=tuple(self._up.busy),
            requests=tuple(self._requests),
        )

    def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        # A task of our own (not the server's callback task) so that stop() can cancel it quietly.
        loop = asyncio.get_running_loop()
        counters = _Counters(loop.time())
        self._connections.append(counters)
        task = loop.create_task(self._relay(client_reader, client_writer, counters))
        self._tasks.add(task)

        def finished(task: asyncio.Task[None]) -> None:
            counters.closed = loop.time()
            self._tasks.discard(task)

        task.add_done_callback(finished)

    async def _relay(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter, counters: _Counters
    ) -> None:
        loop = asyncio.get_running_loop()
        established = counters.opened + (2 * self.config.delay if self.config.handshake else 0.0)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                *self.upstream, limit=2 * READ_SIZE
            )
        except OSError:
            client_writer.transport.abort()
            return
        _tune(client_writer)
        _tune(upstream_writer)

        index = len(self._connections) - 1

        def count_up(data: bytes) -> None:
            counters.up += len(data)
            # HTTP/1.1 clients send a request only after the previous answer, so a request line
            # always starts a fresh read: looking at the first bytes of each read is enough.
            if data[:8].split(b" ", 1)[0] in _METHODS:
                line = data[: data.find(b"\r\n", 0, 2048)].decode("latin-1")
                self._requests.append(RequestRecord(loop.time(), index, line))

        def count_down(data: bytes) -> None:
            counters.down += len(data)

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(
                    self._pipe(client_reader, upstream_writer, self._up, count_up, not_before=established)
                )
                group.create_task(self._pipe(upstream_reader, client_writer, self._down, count_down))
        except* OSError:
            pass  # a reset on either side ends the connection, as it would on a real path
        finally:
            for writer in (client_writer, upstream_writer):
                writer.close()

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        direction: _Direction,
        count: Callable[[bytes], None],
        *,
        not_before: float = 0.0,
    ) -> None:
        """Carry one direction of one connection: book the link per chunk, deliver after the delay."""
        loop = asyncio.get_running_loop()
        line: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        room = asyncio.Event()
        room.set()
        held = 0

        async def deliver() -> None:
            nonlocal held
            while True:
                due, data = await line.get()
                await _sleep_until(loop, due)
                if not data:
                    if writer.can_write_eof() and not writer.is_closing():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
                held -= len(data)
                if held <= self.config.window:
                    room.set()

        delivery = asyncio.create_task(deliver())
        try:
            last_due = 0.0
            first = True
            while True:
                data = await reader.read(READ_SIZE)
                if first and not_before:
                    await _sleep_until(loop, not_before)  # the handshake's round trip
                first = False
                now = loop.time()
                if data:
                    start, end = direction.book(now, len(data))
                    count(data)
                else:
                    start = end = max(now, last_due - self.config.delay)
                last_due = max(last_due, end + self.config.delay)
                held += len(data)
                line.put_nowait((last_due, data))
                if not data:
                    break
                await _sleep_until(loop, start)
                if held > self.config.window:
                    room.clear()
                    await room.wait()
            await delivery
        finally:
            delivery.cancel()


class BackgroundLinkEmulator:
    """A :class:`LinkEmulator` on its own event-loop thread, for synchronous callers such as the runner.

    While the runner waits for a tool's process it holds no GIL, so the emulator thread has the
    interpreter to itself.
    """

    def __init__(self, upstream_host: str, upstream_port: int, config: LinkConfig | None = None) -> None:
        self._emulator = LinkEmulator(upstream_host, upstream_port, config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="linkemu", daemon=True)

    @property
    def config(self) -> LinkConfig:
        return self._emulator.config

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, the address tools use instead of the destination registry's."""
        return f"127.0.0.1:{self._emulator.port}"

    def start(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._emulator.start(), self._loop).result(timeout=10)
        return self

    def stats(self) -> LinkStats:
        async def snapshot() -> LinkStats:
            return self._emulator.stats()

        return asyncio.run_coroutine_threadsafe(snapshot(), self._loop).result(timeout=10)

    def stop(self) -> None:
        """Close the listener and every relayed connection, then end the thread. Idempotent."""
        if not self._thread.is_alive():
            return
        with contextlib.suppress(TimeoutError):
            asyncio.run_coroutine_threadsafe(self._emulator.stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


async def _serve(args: argparse.Namespace, config: LinkConfig) -> None:
    upstream = _host_port(args.upstream)
    listen = _host_port(args.listen)
    async with LinkEmulator(*upstream, config, listen_host=listen[0], listen_port=listen[1]) as emulator:
        print(
            f"linkemu: 127.0.0.1:{emulator.port} -> {args.upstream}, "
            f"{config.delay * 1e3:g} ms one way, {config.rate_bits / 1e6:g} Mbit/s",
            flush=True,
        )
        try:
            while True:
                await asyncio.sleep(args.report_every)
                stats = emulator.stats()
                print(
                    f"connections={stats.connections} up={stats.bytes_up} down={stats.bytes_down}",
                    flush=True,
                )
        finally:
            stats = emulator.stats()
            print(f"final: connections={stats.connections} up={stats.bytes_up} down={stats.bytes_down}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--upstream", help="HOST:PORT to forward to")
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT to listen on (default: any port)")
    parser.add_argument("--delay-ms", type=float, default=15.0, help="one-way delay (default 15)")
    parser.add_argument(
        "--rate-mbit", type=float, default=400.0, help="bandwidth per direction (default 400)"
    )
    parser.add_argument("--report-every", type=float, default=10.0, help="seconds between counter lines")
    parser.add_argument("--handshake", action="store_true", help="a new connection costs one round trip")
    parser.add_argument("--selftest", action="store_true", help="measure the emulator itself and exit")
    args = parser.parse_args(argv)
    config = LinkConfig(delay=args.delay_ms / 1e3, rate_bits=args.rate_mbit * 1e6, handshake=args.handshake)
    if args.selftest:
        # The self-test lives next door; as a script, this file's package is not importable yet.
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from benchmarks.linkcheck import selftest

        return 0 if selftest(config) else 1
    if not args.upstream:
        parser.error("--upstream is required (or --selftest)")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args, config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
