"""ferry's ACS3-HMAC-SHA256 signer against Alibaba's own ``alibabacloud_openapi_util``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from alibabacloud_openapi_util.client import Client as AlibabaUtil

from ferry.providers.acr.signer import sign_request


@dataclass
class _Request:
    """What Alibaba's util reads from a request."""

    method: str
    pathname: str
    query: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "content_type"),
    [
        ("GET", "/namespace/lgy-images", {}, b"", None),
        ("GET", "/repos/lgy-images", {"Page": "1", "PageSize": "100"}, b"", None),
        ("PUT", "/namespace", {}, b'{"Namespace":{"Namespace":"lgy-images"}}', "application/json"),
        (
            "POST",
            "/",
            {"InstanceId": "cri-0123abcd", "NamespaceName": "a b*~c", "PageNo": "1"},
            b"",
            "application/json",
        ),
    ],
)
def test_the_signature_equals_alibabas(
    method: str, path: str, query: dict[str, str], body: bytes, content_type: str | None
) -> None:
    headers = sign_request(
        method=method,
        host="cr.cn-hangzhou.aliyuncs.com",
        path=path,
        query=query,
        body=body,
        action="GetNamespace",
        version="2016-06-07",
        key_id="LTAI5tExample0001",
        key_secret="example-secret",
        content_type=content_type,
        now=datetime(2026, 12, 2, 18, 0, tzinfo=UTC),
        nonce="3f1c",
    )
    signed = {name: value for name, value in headers.items() if name != "Authorization"}
    signed["host"] = "cr.cn-hangzhou.aliyuncs.com"
    expected = AlibabaUtil.get_authorization(
        _Request(method, path, query, signed),
        "ACS3-HMAC-SHA256",
        hashlib.sha256(body).hexdigest(),
        "LTAI5tExample0001",
        "example-secret",
    )
    assert headers["Authorization"] == expected
    assert headers["x-acs-date"] == "2026-12-02T18:00:00Z"
    assert headers["x-acs-content-sha256"] == hashlib.sha256(body).hexdigest()


def test_every_request_gets_a_fresh_nonce() -> None:
    def sign() -> dict[str, str]:
        return sign_request(
            method="GET",
            host="h",
            path="/tokens",
            query={},
            body=b"",
            action="GetAuthorizationToken",
            version="2016-06-07",
            key_id="k",
            key_secret="s",
        )

    assert sign()["x-acs-signature-nonce"] != sign()["x-acs-signature-nonce"]
