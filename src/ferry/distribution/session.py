"""One registry's HTTP session: base URL discovery, authentication and per-request retries.

Every request to a registry goes through :meth:`RegistrySession.send`; it attaches credentials,
answers auth challenges, retries connection errors, 5xx and 429 with jittered backoff (honouring
``Retry-After``) when the request can be replayed, and translates transport exceptions.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass

import httpx

from ferry.distribution.auth import Authenticator
from ferry.distribution.failures import RETRYABLE_STATUS, error_for_exception, error_for_response, retry_delay
from ferry.distribution.network import asyncio_transport
from ferry.distribution.options import RegistryOptions, is_loopback
from ferry.errors import RequestContext, Unavailable


@dataclass
class RequestStats:
    requests: int = 0
    retries: int = 0
    failures: int = 0


Body = bytes | AsyncIterable[bytes] | None


class RegistrySession:
    """HTTP plumbing for one registry host. Not for direct use above ``distribution``."""

    def __init__(self, registry: str, options: RegistryOptions) -> None:
        self.registry = registry
        self.options = options
        self.stats = RequestStats()
        limits = httpx.Limits(
            max_connections=options.max_connections, max_keepalive_connections=options.max_connections
        )
        timeout = httpx.Timeout(
            connect=options.timeouts.connect,
            read=options.timeouts.idle,
            write=options.timeouts.idle,
            pool=None,
        )
        self.http = httpx.AsyncClient(
            transport=asyncio_transport(verify=_tls_verification(options), limits=limits),
            limits=limits,
            timeout=timeout,
            headers={"User-Agent": options.user_agent},
            follow_redirects=False,
            trust_env=False,
        )
        self.auth = Authenticator(registry, options.credentials, self.http)
        self._base_url: str | None = None
        self._base_lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def base_url(self) -> str:
        """``https://host`` or ``http://host``; loopback hosts try HTTPS and fall back to HTTP."""
        if self._base_url is None:
            async with self._base_lock:
                if self._base_url is None:
                    self._base_url = await self._discover_base_url()
        return self._base_url

    async def url(self, path: str) -> str:
        return await self.base_url() + path

    async def send(
        self,
        method: str,
        url: str,
        *,
        context: RequestContext,
        summary: str,
        scopes: tuple[str, ...] = (),
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        params: Mapping[str, str] | None = None,
        stream: bool = False,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """Send one request with auth and retries; the caller checks the status.

        ``stream=True`` returns an unread response the caller must close.
        """
        replayable = body is None or isinstance(body, bytes)
        if not replayable:
            await self.auth.prepare(scopes)
        attempt = 0
        answered_challenge = False
        while True:
            attempt += 1
            request = self.http.build_request(
                method,
                url,
                headers={**self.auth.headers_for(scopes), **(headers or {})},
                content=body,
                params=params,
            )
            self.stats.requests += 1
            try:
                response = await self.http.send(request, stream=True, follow_redirects=follow_redirects)
            except httpx.HTTPError as exc:
                if replayable and attempt < self.options.retry.attempts and _transient(exc):
                    self.stats.retries += 1
                    await asyncio.sleep(retry_delay(self.options.retry, attempt, None))
                    continue
                self.stats.failures += 1
                raise error_for_exception(exc, context, summary) from exc
            if response.status_code == 401 and replayable and not answered_challenge:
                await response.aread()
                answered_challenge = True
                sent = "Authorization" in request.headers
                if await self.auth.handle_challenge(
                    response.headers.get("www-authenticate"), scopes, sent=sent
                ):
                    attempt -= 1
                    continue
            if (
                response.status_code in RETRYABLE_STATUS
                and replayable
                and attempt < self.options.retry.attempts
            ):
                await response.aread()
                self.stats.retries += 1
                await asyncio.sleep(retry_delay(self.options.retry, attempt, response))
                continue
            if not stream or response.status_code >= 400:
                try:
                    await response.aread()
                except httpx.HTTPError as exc:
                    raise error_for_exception(exc, context, summary) from exc
            if response.status_code >= 400:
                self.stats.failures += 1
            return response

    def fail(self, response: httpx.Response, context: RequestContext, summary: str) -> Exception:
        return error_for_response(response, context, summary)

    async def _discover_base_url(self) -> str:
        host = self.registry
        if self.options.plain_http is True:
            return f"http://{host}"
        if self.options.plain_http is False or not is_loopback(host):
            return f"https://{host}"
        try:
            response = await self.http.get(f"https://{host}/v2/")
            await response.aclose()
        except httpx.ConnectError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise error_for_exception(exc, RequestContext(host), "ping") from exc
            if _refused(exc):
                raise Unavailable(
                    "cannot connect: nothing is listening there",
                    context=RequestContext(host),
                    hint="check the host and port, and that the registry is running",
                ) from exc
            return f"http://{host}"
        except (httpx.RemoteProtocolError, httpx.ReadError):
            return f"http://{host}"
        except httpx.HTTPError as exc:
            raise error_for_exception(exc, RequestContext(host), "ping") from exc
        return f"https://{host}"


def _tls_verification(options: RegistryOptions) -> ssl.SSLContext | bool:
    if options.insecure:
        return False
    if options.ca_file is not None:
        return ssl.create_default_context(cafile=str(options.ca_file))
    return _system_trust()


@functools.cache
def _system_trust() -> ssl.SSLContext:
    """The system's CA store, loaded once per process (loading it costs ~50 ms) and shared."""
    return ssl.create_default_context()


def _transient(exc: httpx.HTTPError) -> bool:
    if isinstance(exc, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return False
    return isinstance(exc, httpx.TransportError)


def _refused(exc: httpx.ConnectError) -> bool:
    text = str(exc).lower()
    return "refused" in text or "errno 111" in text
