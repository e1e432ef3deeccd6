from __future__ import annotations

import json

import pytest

from ferry.distribution.failures import error_for_response, parse_retry_after, retry_delay
from ferry.distribution.options import RetryPolicy, is_loopback
from ferry.distribution.transport import Reply
from ferry.errors import Conflict, Denied, NotFound, RegistryError, RequestContext, Unauthorized, Unavailable

CONTEXT = RequestContext("reg.io", "ns/app", "v1", "get manifest")


def response(status: int, errors: list[dict[str, object]] | None = None, **headers: str) -> Reply:
    body = json.dumps({"errors": errors}).encode() if errors is not None else b""
    return Reply(status, {name.lower(): value for name, value in headers.items()}, "https://reg.io/v2/", body)


@pytest.mark.parametrize(
    ("status", "errors", "kind"),
    [
        (404, [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}], NotFound),
        (400, [{"code": "NAME_UNKNOWN", "message": "repository name not known"}], NotFound),
        (401, [{"code": "UNAUTHORIZED", "message": "authentication required"}], Unauthorized),
        (403, [{"code": "DENIED", "message": "requested access to the resource is denied"}], Denied),
        (409, None, Conflict),
        (429, [{"code": "TOOMANYREQUESTS", "message": "slow down"}], Unavailable),
        (503, None, Unavailable),
        (400, [{"code": "MANIFEST_INVALID", "message": "manifest invalid"}], RegistryError),
    ],
)
def test_status_and_error_codes_choose_the_exception(
    status: int, errors: list[dict[str, object]] | None, kind: type[RegistryError]
) -> None:
    error = error_for_response(response(status, errors), CONTEXT, "manifest download failed")
    assert type(error) is kind
    assert error.status == status


def test_message_names_registry_repository_reference_status_and_code() -> None:
    error = error_for_response(
        response(404, [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {"Tag": "v1"}}]),
        CONTEXT,
        "manifest download failed",
    )
    text = str(error)
    for fact in ("reg.io/ns/app:v1", "HTTP 404", "MANIFEST_UNKNOWN", "manifest download failed"):
        assert fact in text
    assert error.details[0].detail == '{"Tag": "v1"}'


def test_retry_after_seconds_and_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    when = parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT")
    assert when == 0.0


def test_retry_delay_honours_retry_after_up_to_the_cap() -> None:
    policy = RetryPolicy(max_retry_after=30)
    assert retry_delay(policy, 1, response(429, None, **{"retry-after": "3"})) == 3.0
    assert retry_delay(policy, 1, response(429, None, **{"retry-after": "3600"})) == 30.0


def test_retry_delay_backs_off_exponentially_with_jitter() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0)
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 5.0)):
        delay = retry_delay(policy, attempt, None)
        assert ceiling / 2 <= delay <= ceiling


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("localhost:5000", True),
        ("127.0.0.1:5000", True),
        ("127.9.9.9", True),
        ("[::1]:5000", True),
        ("registry.example.com", False),
        ("10.0.0.1:5000", False),
        ("my.localhost", True),
    ],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
