"""One JSON POST to an arbitrary HTTP endpoint: what ferry's outgoing webhooks send.

It lives here because this package owns the HTTP client (only ``transport.py`` imports it); the
webhook layer above sees a ``PostReply`` or ferry's ``Unavailable``. No redirects are followed (a
receiver that redirects is misconfigured, and the ``Authorization`` header must not travel on), no
proxy from the environment is used, and one connection serves one request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ferry.distribution.transport import Transport, TransportFailure
from ferry.errors import RequestContext, Unavailable

DEFAULT_TIMEOUT = 10.0
_TLS_HINT = (
    "the receiver's TLS certificate is not trusted: give it a certificate from a trusted CA, or turn "
    "certificate verification off for this target if you trust the network"
)


@dataclass(frozen=True)
class PostReply:
    status: int
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


async def post_json(
    url: str,
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    verify_tls: bool = True,
    timeout_seconds: float = DEFAULT_TIMEOUT,
    user_agent: str = "ferry",
) -> PostReply:
    """POST ``body`` (JSON bytes) to ``url``; ``Content-Type`` is ``application/json`` unless
    ``headers`` say otherwise. Any HTTP answer is returned; no answer raises ``Unavailable``.
    ``timeout_seconds`` bounds the connection and each wait for data (not a slow but steady answer)."""
    sent = {"Content-Type": "application/json", **(headers or {})}
    transport = Transport(
        verify=verify_tls,
        max_connections=1,
        connect_timeout=timeout_seconds,
        idle_timeout=timeout_seconds,
        user_agent=user_agent,
    )
    try:
        reply = await transport.request("POST", url, headers=sent, body=body)
    except TransportFailure as failure:
        context = RequestContext(registry=urlsplit(url).netloc, operation="POST")
        raise Unavailable(
            f"no answer from the webhook receiver: {failure.reason}",
            context=context,
            hint=_TLS_HINT if failure.certificate else None,
        ) from failure
    finally:
        await transport.aclose()
    return PostReply(reply.status_code, reply.content)


def is_certificate_failure(error: Unavailable) -> bool:
    """Whether ``post_json`` failed because the receiver's TLS certificate is not trusted."""
    cause = error.__cause__
    return isinstance(cause, TransportFailure) and cause.certificate
