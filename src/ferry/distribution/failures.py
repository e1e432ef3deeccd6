"""Translating HTTP failures into ferry's exception tree, once, at this boundary."""

from __future__ import annotations

import email.utils
import json
import random
import time

from ferry.distribution.options import RetryPolicy
from ferry.distribution.transport import Reply, TransportFailure
from ferry.errors import (
    Conflict,
    Denied,
    NotFound,
    RegistryError,
    RegistryErrorDetail,
    RequestContext,
    Unauthorized,
    Unavailable,
)

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})

_NOT_FOUND_CODES = {"NAME_UNKNOWN", "MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "BLOB_UPLOAD_UNKNOWN", "NOT_FOUND"}

_HINTS = {
    401: "check the credentials for this registry (--src-creds/--dest-creds, FERRY_*_CREDS or docker login)",
    403: "the account is not allowed to do this: check its permissions, or that the namespace exists",
    429: "the registry is rate limiting; lower --concurrency or try again later",
}


def parse_error_body(content: bytes) -> tuple[RegistryErrorDetail, ...]:
    """The ``{"errors": [{code, message, detail}]}`` body of a registry error, if any."""
    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return ()
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list):
        return ()
    details = []
    for item in errors:
        if isinstance(item, dict):
            detail = item.get("detail")
            details.append(
                RegistryErrorDetail(
                    code=str(item.get("code", "UNKNOWN")),
                    message=str(item.get("message", "")),
                    detail=None if detail is None else json.dumps(detail, sort_keys=True)[:300],
                )
            )
    return tuple(details)


def error_for_response(response: Reply, context: RequestContext, summary: str) -> RegistryError:
    """Build the right ``RegistryError`` for an error response whose body has been read."""
    status = response.status_code
    details = parse_error_body(response.content)
    codes = {detail.code for detail in details}
    kind: type[RegistryError]
    if status == 404 or codes & _NOT_FOUND_CODES:
        kind = NotFound
    elif status == 401 or "UNAUTHORIZED" in codes:
        kind = Unauthorized
    elif status == 403 or "DENIED" in codes:
        kind = Denied
    elif status == 409:
        kind = Conflict
    elif status in RETRYABLE_STATUS or "TOOMANYREQUESTS" in codes:
        kind = Unavailable
    else:
        kind = RegistryError
    return kind(summary, context=context, status=status, details=details, hint=_HINTS.get(status))


def error_for_exception(failure: TransportFailure, context: RequestContext, summary: str) -> RegistryError:
    """A request that got no HTTP answer: always ``Unavailable``, naming the kind of failure."""
    if failure.certificate:
        return Unavailable(
            f"{summary}: TLS certificate verification failed",
            context=context,
            hint="pass the registry's CA with --src-ca/--dest-ca, or --src-insecure/--dest-insecure "
            "to skip verification for this registry only",
        )
    hint = "check the host and port, and that the registry is running" if failure.refused else None
    return Unavailable(f"{summary}: {failure.reason}", context=context, hint=hint)


def retry_delay(policy: RetryPolicy, attempt: int, response: Reply | None) -> float:
    """Seconds to wait before ``attempt`` (1-based): ``Retry-After`` if given, else full jitter."""
    if response is not None:
        after = parse_retry_after(response.headers.get("retry-after"))
        if after is not None:
            return min(after, policy.max_retry_after)
    ceiling = min(policy.max_delay, policy.base_delay * (2 ** (attempt - 1)))
    return random.uniform(ceiling / 2, ceiling)


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
