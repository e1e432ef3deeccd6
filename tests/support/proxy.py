"""A minimal streaming HTTP/1.1 reverse proxy, the engine under the fault injectors.

Why: fault tests need to sit between the client under test and a *real*
registry and misbehave at precise moments (answer 503, cut a body after N
bytes, redirect blob downloads).  Off-the-shelf proxies cannot be scripted
like that.  The proxy runs its own asyncio loop in a daemon thread so it works
the same from sync and async tests; bodies are streamed in 64 KiB pieces, so
multi-GiB uploads never sit in memory.  Each client request gets a fresh
upstream connection (``Connection: close``), which keeps framing simple;
client-side keep-alive is preserved.

Subclasses override :meth:`ReverseProxy.decide`.  Test-only code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import threading
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from tests.support.net import Endpoint
from tests.support.wire import (
    HOP_BY_HOP,
    PIECE,
    UpstreamConnection,
    abort_with_reset,
    header,
    iter_body,
    read_head,
)

Upstream = Endpoint  # what a proxy forwards to
_KNOWN = {s.value for s in HTTPStatus}


@dataclass
class RecordedRequest:
    """What the proxy saw: request line, headers (as sent by the client), and what it did."""

    method: str
    target: str
    headers: dict[str, str]
    action: str = "forward"
    body_bytes_forwarded: int = 0
    status: int | None = None

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.target).path


@dataclass(frozen=True)
class Forward:
    """Proxy the request, optionally to another path and with extra upstream headers."""

    target: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Respond:
    """Answer locally (the request body is read and discarded first)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Cut:
    """Forward the head and ``after_bytes`` of the body, then drop both connections.

    ``where="response"`` forwards the whole request and drops the connections
    once upstream has answered, so the server did the work but the client
    never learns the outcome.
    """

    after_bytes: int = 0
    where: Literal["request", "response"] = "request"


@dataclass(frozen=True)
class Hold:
    """Keep the request waiting, unanswered and with its body unread, until ``until`` is set; then
    act on ``then``. The event is awaited in the proxy's loop: set it with ``call_soon_threadsafe``."""

    until: asyncio.Event
    then: Forward | Respond | Cut = Forward()


Decision = Forward | Respond | Cut | Hold


class ReverseProxy:
    """Listens on ``127.0.0.1:<free port>`` and forwards to ``upstream`` (http or https)."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        parts = urllib.parse.urlsplit(upstream.url)
        self._up_host, self._up_port = parts.hostname or "127.0.0.1", parts.port or 80
        self._up_ssl: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self._up_ssl = ssl.create_default_context(
                cafile=str(upstream.ca_file) if upstream.ca_file else None
            )
        self._lock = threading.Lock()
        self._records: list[RecordedRequest] = []
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- endpoint-like attributes (so images/client helpers can target a proxy) --
    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def username(self) -> str | None:
        return self.upstream.username

    @property
    def password(self) -> str | None:
        return self.upstream.password

    @property
    def ca_file(self) -> Path | None:
        return None

    tls = False

    # -- bookkeeping ----------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    @property
    def body_bytes_forwarded(self) -> int:
        """Request-body bytes sent upstream over the proxy's lifetime (proves resume vs restart)."""
        with self._lock:
            return sum(r.body_bytes_forwarded for r in self._records)

    def decide(self, method: str, target: str, headers: dict[str, str]) -> Decision:
        """Override: called (in the proxy thread, under a lock) once per request."""
        return Forward()

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> Self:
        # Bind inside the proxy's own thread: the caller may be running an event loop of its own.
        self._thread = threading.Thread(target=self._loop.run_forever, name=type(self).__name__, daemon=True)
        self._thread.start()

        async def listen() -> asyncio.Server:
            return await asyncio.start_server(self._serve_client, "127.0.0.1", 0)

        self._server = asyncio.run_coroutine_threadsafe(listen(), self._loop).result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._thread is None:
            return

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for _ in range(3):
                await asyncio.sleep(0)  # let the transports' connection_lost callbacks run

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        self._loop.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- the proxy ------------------------------------------------------------
    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one_request(reader, writer):
                pass
            await _lingering_close(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ssl.SSLError):
            pass  # a peer went away (often on purpose): nothing to report
        except asyncio.CancelledError:
            pass  # proxy shutdown; finishing normally keeps asyncio from logging the cancellation
        finally:
            writer.close()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await read_head(reader)
        if head is None:
            return False
        first, headers = head
        method, target, _version = first.split(" ", 2)
        record = RecordedRequest(method, target, {k.lower(): v for k, v in headers})
        with self._lock:
            self._records.append(record)
            decision = self.decide(method, target, record.headers)
        if isinstance(decision, Hold):
            record.action = "held"
            await decision.until.wait()
            decision = decision.then
        keep_alive = (header(headers, "connection") or "").lower() != "close"
        if (header(headers, "expect") or "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = iter_body(reader, headers, eof=False)
        if isinstance(decision, Respond):
            record.action, record.status = "respond", decision.status
            async for _ in body:
                pass
            out = {"Content-Length": str(len(decision.body)), **decision.headers}
            reason = HTTPStatus(decision.status).phrase if decision.status in _KNOWN else "Injected"
            payload = b"" if method == "HEAD" else decision.body
            writer.write(_head(f"HTTP/1.1 {decision.status} {reason}", list(out.items())) + payload)
            await writer.drain()
            return keep_alive
        return await self._forward(method, target, headers, body, decision, record, writer) and keep_alive

    async def _forward(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: AsyncIterator[bytes],
        decision: Forward | Cut,
        record: RecordedRequest,
        writer: asyncio.StreamWriter,
    ) -> bool:
        upstream = await UpstreamConnection.open(self._up_host, self._up_port, self._up_ssl)
        # Read the answer concurrently with sending the body: a server may answer early
        # (401, 413) and stop reading; the client must then see that answer, not a reset.
        answer = asyncio.ensure_future(_read_answer(upstream.reader, method))
        try:
            chunked = (header(headers, "transfer-encoding") or "").lower() == "chunked"
            out = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP and k.lower() != "host"]
            out.append(("Host", f"{self._up_host}:{self._up_port}"))
            out.append(("Connection", "close"))
            if chunked:
                out.append(("Transfer-Encoding", "chunked"))
            if isinstance(decision, Forward):
                target = decision.target or target
                out.extend(decision.extra_headers.items())
            await upstream.send(_head(f"{method} {target} HTTP/1.1", out))
            limit = (
                decision.after_bytes if isinstance(decision, Cut) and decision.where == "request" else None
            )
            complete = await self._send_body(body, upstream, chunked, limit, record, answer)
            if limit is not None:
                record.action = "cut-request"
                await _finish_cut_upstream(upstream, answer, record)
                abort_with_reset(writer)
                return False
            answered = await answer
            if isinstance(decision, Cut):
                record.status = answered.status
                record.action = "cut-response"
                abort_with_reset(writer)
                return False
            # An early answer leaves part of the client's body unread: close after relaying.
            return await self._relay_answer(answered, upstream.reader, writer, record) and complete
        finally:
            if not answer.done():
                answer.cancel()
            upstream.close()

    async def _send_body(
        self,
        body: AsyncIterator[bytes],
        upstream: UpstreamConnection,
        chunked: bool,
        limit: int | None,
        record: RecordedRequest,
        answer: asyncio.Future[_Answer],
    ) -> bool:
        """Forward the request body (up to ``limit``); False if upstream answered or hung up first."""
        try:
            async for piece in body:
                if answer.done():
                    return False
                if limit is not None:
                    piece = piece[: max(0, limit - record.body_bytes_forwarded)]
                if piece:
                    await upstream.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                    with self._lock:
                        record.body_bytes_forwarded += len(piece)
                if limit is not None and record.body_bytes_forwarded >= limit:
                    return False
            if chunked:
                await upstream.send(b"0\r\n\r\n")
            return True
        except ConnectionError:
            return False

    async def _relay_answer(
        self,
        answered: _Answer,
        up_reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        record: RecordedRequest,
    ) -> bool:
        """Send upstream's answer to the client; returns whether the client connection stays usable."""
        record.status = answered.status
        no_body = answered.method == "HEAD" or answered.status in (204, 304)
        names = {k.lower() for k, _ in answered.headers}
        framed = no_body or bool(names & {"content-length", "transfer-encoding"})
        out: list[tuple[str, str]] = []
        for k, v in answered.headers:
            if k.lower() == "location":
                v = self._rewrite_location(v)
            if k.lower() not in ("connection", "keep-alive"):
                out.append((k, v))
        if not framed:
            out.append(("Connection", "close"))
        writer.write(_head(answered.status_line, out))
        if answered.body is not None:
            writer.write(answered.body)
        elif not no_body:
            chunked = (header(answered.headers, "transfer-encoding") or "").lower() == "chunked"
            async for piece in iter_body(up_reader, answered.headers, eof=True):
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                await writer.drain()
            if chunked:
                writer.write(b"0\r\n\r\n")
        await writer.drain()
        return framed

    def _rewrite_location(self, value: str) -> str:
        """Absolute upstream URLs become proxy URLs so follow-up requests come back here."""
        parts = urllib.parse.urlsplit(value)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if parts.scheme and parts.hostname == self._up_host and port == self._up_port:
            return urllib.parse.urlunsplit(("http", self.host, parts.path, parts.query, parts.fragment))
        return value


@dataclass(frozen=True)
class _Answer:
    """Upstream's final (non-1xx) response head, plus its body when small enough to prefetch."""

    method: str
    status_line: str
    headers: list[tuple[str, str]]
    body: bytes | None

    @property
    def status(self) -> int:
        return int(self.status_line.split(" ", 2)[1])


_PREFETCH = 64 * 1024


async def _read_answer(up_reader: asyncio.StreamReader, method: str) -> _Answer:
    """Read the response head; small fixed-length bodies (error documents) are read too.

    Prefetching matters for early answers: once a write to upstream fails, the
    stream reader refuses further reads, so the error body must already be here.
    """
    while True:
        head = await read_head(up_reader)
        if head is None:
            raise ConnectionResetError("upstream closed without a response")
        status_line, headers = head
        if int(status_line.split(" ", 2)[1]) >= 200:
            break  # skip interim 1xx responses
    length = header(headers, "content-length")
    status = int(status_line.split(" ", 2)[1])
    body: bytes | None = None
    fixed_length = length is not None and header(headers, "transfer-encoding") is None
    if method != "HEAD" and status not in (204, 304) and fixed_length and int(length or 0) <= _PREFETCH:
        body = await up_reader.readexactly(int(length or 0))
    return _Answer(method, status_line, headers, body)


async def _finish_cut_upstream(
    upstream: UpstreamConnection, answer: asyncio.Future[_Answer], record: RecordedRequest
) -> None:
    """Half-close upstream (it sees exactly the forwarded bytes, then EOF) and wait for its verdict.

    Waiting for upstream's response (distribution answers 499, or 500 when it
    notices late) before resetting the client makes cuts deterministic: by the
    time the client notices, the server has finished handling the truncated
    request, so a follow-up status request cannot race it.
    """
    if upstream.write_eof():
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            record.status = (await asyncio.wait_for(answer, timeout=30)).status
    upstream.close()


async def _lingering_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """FIN first, then discard what the client still sends, then close.

    Closing a socket with unread input makes the kernel send RST, which can
    destroy a response the client has not read yet (e.g. an early 401 to a
    large upload).  Web servers avoid that the same way.
    """
    if writer.is_closing():
        return  # already aborted on purpose
    with contextlib.suppress(ConnectionError, OSError, TimeoutError):
        if writer.can_write_eof():
            writer.write_eof()

        async def discard() -> None:
            while await reader.read(PIECE):
                pass

        await asyncio.wait_for(discard(), timeout=5)


def _head(start_line: str, headers: list[tuple[str, str]]) -> bytes:
    return ("\r\n".join([start_line] + [f"{k}: {v}" for k, v in headers]) + "\r\n\r\n").encode("latin-1")


def json_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Respond:
    """A distribution-style error response."""
    body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
    return Respond(status, {"Content-Type": "application/json", **(headers or {})}, body)
