"""Alibaba Cloud's V3 request signature, ``ACS3-HMAC-SHA256``, for the ACR OpenAPI.

One algorithm serves both ACR APIs (the personal edition's path-style 2016-06-07 API and the
enterprise edition's action-style 2018-12-01 API). Why not the SDK: ``alibabacloud-cr20181201``
pulls ~29 packages for a handful of calls and covers only the enterprise API; the personal API's
SDKs are stale. The algorithm is ~40 lines; the tests check it against Alibaba's own
``alibabacloud_openapi_util``.

::

    CanonicalRequest = METHOD, path, sorted query, "name:value\\n"..., signed;names, hex(sha256(body))
                       joined with newlines
    StringToSign     = "ACS3-HMAC-SHA256" newline hex(sha256(CanonicalRequest))
    Authorization    = ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<names>,
                       Signature=hex(hmac_sha256(secret, StringToSign))

Signed headers: ``host``, ``content-type`` when sent, and every ``x-acs-*`` header.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

ALGORITHM = "ACS3-HMAC-SHA256"


def sign_request(
    *,
    method: str,
    host: str,
    path: str,
    query: Mapping[str, str],
    body: bytes,
    action: str,
    version: str,
    key_id: str,
    key_secret: str,
    content_type: str | None = None,
    now: datetime | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Every header the request needs, ``Authorization`` included."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce or secrets.token_hex(16),
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    if content_type:
        headers["content-type"] = content_type
    names = sorted(headers)
    canonical = "\n".join(
        [
            method.upper(),
            path or "/",
            canonical_query(query),
            "".join(f"{name}:{headers[name].strip()}\n" for name in names),
            ";".join(names),
            headers["x-acs-content-sha256"],
        ]
    )
    to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(key_secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (
        f"{ALGORITHM} Credential={key_id},SignedHeaders={';'.join(names)},Signature={signature}"
    )
    headers.pop("host")  # the HTTP client sends Host itself
    return headers


def canonical_query(query: Mapping[str, str]) -> str:
    return "&".join(f"{quote(key, safe='~')}={quote(query[key], safe='~')}" for key in sorted(query))
