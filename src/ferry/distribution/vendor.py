"""``VendorApi``: JSON over HTTP to a registry vendor's management API (Harbor's ``/api/v2.0``,
Docker Hub's ``hub.docker.com/v2``, Alibaba Cloud's container-registry OpenAPI).

The same transport, TLS settings and retry rules as the registry client, with two differences:
the caller signs each attempt itself (an OpenAPI signature carries a nonce and a timestamp, so a
retry needs a fresh one), and every answer comes back with its status for the caller to read,
because each vendor says "not found" its own way. Connection failures are translated once, here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from ferry.distribution.failures import RETRYABLE_STATUS, error_for_exception, retry_delay
from ferry.distribution.options import RegistryOptions
from ferry.distribution.session import tls_verification
from ferry.distribution.transport import Reply, Transport, TransportFailure
from ferry.errors import RequestContext, Unavailable


@dataclass(frozen=True)
class ApiRequest:
    """One request as the signer sees it: the query and body are final."""

    method: str
    host: str
    path: str
    query: Mapping[str, str]
    body: bytes
    content_type: str | None = None
    """Sent whenever the method has a body, even an empty one (HTTP libraries add one otherwise)."""


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    headers: Mapping[str, str]
    document: Any
    """The JSON body; None when the body is empty or not JSON."""
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


Signer = Callable[[ApiRequest], Mapping[str, str]]
"""Headers that authenticate one attempt of a request."""


class VendorApi:
    """One vendor API base URL (``https://cr.cn-hangzhou.aliyuncs.com``, ``https://harbor.example``)."""

    def __init__(self, base_url: str, options: RegistryOptions, *, name: str) -> None:
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.host = parts.netloc
        self.name = name
        self._options = options
        self._transport = Transport(
            verify=tls_verification(options),
            max_connections=min(options.max_connections, 8),
            connect_timeout=options.timeouts.connect,
            idle_timeout=options.timeouts.idle,
            user_agent=options.user_agent,
        )
        self._pace: Callable[[], Awaitable[None]] | None = None

    def pace_with(self, wait: Callable[[], Awaitable[None]]) -> None:
        """Call ``wait`` before every attempt (a vendor's calls-per-second limit)."""
        self._pace = wait

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> VendorApi:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        sign: Signer | None = None,
        operation: str,
    ) -> ApiAnswer:
        """Send one call with retries on connection errors, 5xx and 429."""
        body = b"" if json_body is None else json.dumps(json_body, separators=(",", ":")).encode()
        content_type = "application/json" if body or method in {"POST", "PUT", "PATCH"} else None
        request = ApiRequest(method, self.host, path, dict(query or {}), body, content_type)
        query_text = urlencode(sorted(request.query.items()), quote_via=quote, safe="~")
        url = self.base_url + path + (f"?{query_text}" if query_text else "")
        context = RequestContext(self.host, operation=operation)
        base_headers = {"Accept": "application/json", **(headers or {})}
        if content_type:
            base_headers["Content-Type"] = content_type
        attempt = 0
        while True:
            attempt += 1
            if self._pace is not None:
                await self._pace()
            sent = {**base_headers, **(sign(request) if sign else {})}
            try:
                reply = await self._transport.request(method, url, headers=sent, body=body or None)
            except TransportFailure as failure:
                if attempt < self._options.retry.attempts and not (failure.certificate or failure.refused):
                    await asyncio.sleep(retry_delay(self._options.retry, attempt, None))
                    continue
                raise error_for_exception(failure, context, f"{self.name} {operation} failed") from failure
            if reply.status_code in RETRYABLE_STATUS and attempt < self._options.retry.attempts:
                await asyncio.sleep(retry_delay(self._options.retry, attempt, reply))
                continue
            if reply.status_code in RETRYABLE_STATUS:
                raise Unavailable(
                    f"{self.name} {operation} failed", context=context, status=reply.status_code
                )
            return _answer(reply)


def _answer(reply: Reply) -> ApiAnswer:
    text = reply.content.decode("utf-8", "replace")
    try:
        document = json.loads(text) if text.strip() else None
    except ValueError:
        document = None
    return ApiAnswer(reply.status_code, reply.headers, document, text[:500])
