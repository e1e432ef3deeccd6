"""The one module that touches the HTTP library (aiohttp), behind a small interface.

ferry first used httpx. Its connection pool re-examines every pooled connection for every active
request, and it validates URLs character by character in Python: with the dozens of concurrent
requests of a sync that cost 2–5 ms of CPU per request, the largest cost of a run. aiohttp's
connector and C-accelerated parser and URLs cost a fraction of that. Everything above this module
sees :class:`Reply` and :class:`TransportFailure`, never aiohttp's types.
"""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Any

import aiohttp
from yarl import URL

from ferry.errors import FerryError

Body = bytes | AsyncIterable[bytes] | None

#: Big layers move in large reads; the per-read overhead is then negligible.
READ_SIZE = 256 * 1024

_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";]+)"?')


class TransportFailure(Exception):
    """A request that got no HTTP answer. ``reason`` is for people; the flags are for decisions."""

    def __init__(
        self, reason: str, *, certificate: bool = False, refused: bool = False, tls: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.certificate = certificate
        self.refused = refused
        self.tls = tls


class Reply:
    """An HTTP response: status, headers, and either the whole body or a stream to read."""

    def __init__(
        self,
        status_code: int,
        headers: Mapping[str, str],
        url: str,
        content: bytes = b"",
        *,
        stream: aiohttp.ClientResponse | None = None,
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.url = url
        self.content = content
        self._stream = stream

    @classmethod
    def of(cls, response: aiohttp.ClientResponse, content: bytes | None) -> Reply:
        return cls(
            response.status,
            response.headers,
            str(response.url),
            content or b"",
            stream=None if content is not None else response,
        )

    def json(self) -> Any:
        return json.loads(self.content)

    def join(self, reference: str) -> str:
        """``reference`` (a Location or Link target, often relative) made absolute against this URL."""
        return str(URL(self.url, encoded=True).join(URL(reference, encoded=True)))

    def link(self, relation: str) -> str | None:
        for target, rel in _LINK.findall(self.headers.get("link", "")):
            if rel == relation:
                return self.join(target)
        return None

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives (for streamed replies)."""
        if self._stream is None:
            if self.content:
                yield self.content
            return
        try:
            async for chunk in self._stream.content.iter_chunked(READ_SIZE):
                yield chunk
        except (aiohttp.ClientError, OSError) as exc:
            raise _failure(exc) from exc
        except TimeoutError as exc:
            raise TransportFailure("no data received within the idle timeout") from exc

    async def aclose(self) -> None:
        if self._stream is not None:
            self._stream.release()


class Transport:
    """Pools of connections to one registry host (and wherever its redirects and tokens point).

    Two lanes of up to ``max_connections`` each: requests that stream a body (blob uploads and
    downloads) use the bulk lane, every other request (HEAD, POST, manifests, mounts) the control
    lane. With one shared pool, a blob PUT that had its transfer slot waited for a connection
    behind hundreds of queued HEADs while the link sat idle, and metadata requests, which are bound
    by round trips and need many connections, got only what transfers left over. The copy engine's
    transfer slots bound how many bulk connections are really opened.
    """

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool,
        max_connections: int,
        connect_timeout: float,
        idle_timeout: float,
        user_agent: str,
    ) -> None:
        self._verify = verify
        self._max_connections = max_connections
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=idle_timeout
        )
        self._user_agent = user_agent
        self._sessions: dict[bool, aiohttp.ClientSession] = {}

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: Body = None,
        stream: bool = False,
        follow_redirects: bool = False,
    ) -> Reply:
        """Send one request. A streamed reply must be closed; otherwise the body is read.

        aiohttp drops ``Authorization`` when a redirect leaves the origin, so credentials never
        reach the storage backend a registry redirects blob downloads to.
        """
        bulk = stream or not (body is None or isinstance(body, bytes))
        session = self._ensure_session(bulk=bulk)
        try:
            response = await session.request(
                method,
                URL(url, encoded=True),
                headers=headers,
                data=body,
                allow_redirects=follow_redirects,
            )
        except TimeoutError as exc:
            raise TransportFailure("no answer within the idle timeout") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise _failure(exc) from exc
        if stream:
            return Reply.of(response, None)
        try:
            content = await response.read()
        except TimeoutError as exc:
            raise TransportFailure("no data received within the idle timeout") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise _failure(exc) from exc
        finally:
            response.release()
        return Reply.of(response, content)

    async def aclose(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()

    def _ensure_session(self, *, bulk: bool) -> aiohttp.ClientSession:
        session = self._sessions.get(bulk)
        if session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                limit_per_host=0,
                ssl=self._verify if self._verify else False,
            )
            session = self._sessions[bulk] = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                headers={"User-Agent": self._user_agent},
                trust_env=False,
                auto_decompress=False,
            )
        return session


def _failure(exc: BaseException) -> BaseException:
    """aiohttp wraps an exception raised by a streamed request body; ferry's own errors (a digest
    mismatch found while streaming) come back out as themselves."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, FerryError):
            return cause
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError) or "CERTIFICATE_VERIFY_FAILED" in text:
        return TransportFailure("TLS certificate verification failed", certificate=True)
    if isinstance(exc, aiohttp.ClientConnectorSSLError | aiohttp.ClientSSLError) or "SSL" in text:
        return TransportFailure("TLS handshake failed", tls=True)
    if isinstance(exc, aiohttp.ClientConnectorError):
        refused = isinstance(exc.os_error, ConnectionRefusedError)
        return TransportFailure(
            "nothing is listening there" if refused else "cannot connect", refused=refused
        )
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return TransportFailure("connection closed unexpectedly")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return TransportFailure("connection broken while reading")
    return TransportFailure(f"connection broken ({type(exc).__name__})")
