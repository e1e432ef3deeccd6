"""One registry's HTTP session: base URL discovery, authentication and per-request retries.

Every request to a registry goes through :meth:`RegistrySession.send`; it attaches credentials,
answers auth challenges, retries connection errors, 5xx and 429 with jittered backoff (honouring
``Retry-After``) when the request can be replayed, and translates transport failures.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

from yarl import URL

from ferry.distribution.auth import Authenticator
from ferry.distribution.failures import RETRYABLE_STATUS, error_for_exception, error_for_response, retry_delay
from ferry.distribution.observe import RequestOutcome, RetryReason
from ferry.distribution.options import RegistryOptions, is_loopback
from ferry.distribution.transport import Body, Reply, Transport, TransportFailure
from ferry.errors import RegistryError, RequestContext, Unavailable


@dataclass
class RequestStats:
    requests: int = 0
    retries: int = 0
    failures: int = 0


class RegistrySession:
    """HTTP plumbing for one registry host. Not for direct use above ``distribution``."""

    def __init__(self, registry: str, options: RegistryOptions) -> None:
        self.registry = registry
        self.options = options
        self.stats = RequestStats()
        self.transport = Transport(
            verify=tls_verification(options),
            max_connections=options.max_connections,
            connect_timeout=options.timeouts.connect,
            idle_timeout=options.timeouts.idle,
            user_agent=options.user_agent,
        )
        self.auth = Authenticator(
            registry, options.credentials, self.transport, source=options.credential_source
        )
        self._base_url: str | None = None
        self._base_lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self.transport.aclose()

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
    ) -> Reply:
        """Send one request with auth and retries; the caller checks the status.

        ``stream=True`` returns an unread reply (for 2xx) that the caller must close.
        """
        if params:
            url = str(URL(url, encoded=True).update_query(params))
        replayable = body is None or isinstance(body, bytes)
        if not replayable:
            await self.auth.prepare(scopes)
        attempt = 0
        answered_challenge = False
        while True:
            attempt += 1
            sent_headers = {**self.auth.headers_for(scopes), **(headers or {})}
            self.stats.requests += 1
            try:
                response = await self.transport.request(
                    method,
                    url,
                    headers=sent_headers,
                    body=body,
                    stream=stream,
                    follow_redirects=follow_redirects,
                )
            except TransportFailure as failure:
                self._observe(RequestOutcome.NO_ANSWER)
                if (
                    replayable
                    and attempt < self.options.retry.attempts
                    and not (failure.certificate or failure.refused)
                ):
                    self.stats.retries += 1
                    self._observe_retry(RetryReason.CONNECTION)
                    await asyncio.sleep(retry_delay(self.options.retry, attempt, None))
                    continue
                self.stats.failures += 1
                raise error_for_exception(failure, context, summary) from failure
            self._observe(RequestOutcome.of_status(response.status_code))
            if stream and response.status_code >= 300:
                response = await self._read_error(response, context, summary)
            if response.status_code == 401 and replayable and not answered_challenge:
                answered_challenge = True
                sent = "Authorization" in sent_headers
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
                self.stats.retries += 1
                self._observe_retry(RetryReason.of_status(response.status_code))
                await asyncio.sleep(retry_delay(self.options.retry, attempt, response))
                continue
            if response.status_code >= 400:
                self.stats.failures += 1
            return response

    def _observe(self, outcome: RequestOutcome) -> None:
        if self.options.observer is not None:
            self.options.observer.request_done(self.registry, outcome)

    def _observe_retry(self, reason: RetryReason) -> None:
        if self.options.observer is not None:
            self.options.observer.request_retried(self.registry, reason)

    def fail(self, response: Reply, context: RequestContext, summary: str) -> RegistryError:
        return error_for_response(response, context, summary)

    async def _read_error(self, response: Reply, context: RequestContext, summary: str) -> Reply:
        """A streamed request that was answered with an error: read the (small) error body."""
        try:
            content = b"".join([chunk async for chunk in response.chunks()])
        except TransportFailure as failure:
            raise error_for_exception(failure, context, summary) from failure
        finally:
            await response.aclose()
        response.content = content
        return response

    async def _discover_base_url(self) -> str:
        host = self.registry
        if self.options.plain_http is True:
            return f"http://{host}"
        if self.options.plain_http is False or not is_loopback(host):
            return f"https://{host}"
        try:
            await self.transport.request("GET", f"https://{host}/v2/", headers={})
        except TransportFailure as failure:
            if failure.certificate:
                raise error_for_exception(failure, RequestContext(host), "ping") from failure
            if failure.refused:
                raise Unavailable(
                    "cannot connect: nothing is listening there",
                    context=RequestContext(host),
                    hint="check the host and port, and that the registry is running",
                ) from failure
            return f"http://{host}"
        return f"https://{host}"


def tls_verification(options: RegistryOptions) -> ssl.SSLContext | bool:
    """What the transport verifies server certificates with: ``False`` (the endpoint is insecure),
    a context trusting the endpoint's own CA, or ``True`` for the system's CA store."""
    if options.insecure:
        return False
    if options.ca_pem is not None:
        return ssl.create_default_context(cadata=options.ca_pem)
    if options.ca_file is not None:
        return ssl.create_default_context(cafile=str(options.ca_file))
    # The system's CA store: aiohttp's own verifying context, which it loads when it is imported
    # (loading a CA store costs 30-50 ms of start-up; a second copy would double that).
    return True
