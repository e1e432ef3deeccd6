"""What a session tells an observer about its requests: one call per HTTP exchange and one per retry,
so a service can count errors and retries per registry without this package knowing how."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class RequestOutcome(StrEnum):
    """How one HTTP exchange with a registry ended."""

    SUCCESS = "success"
    """An answer below 400."""
    CLIENT_ERROR = "client_error"
    """A 4xx answer: also routine ones, such as the 401 of a token challenge or the 404 of an
    existence check."""
    SERVER_ERROR = "server_error"
    """A 5xx answer."""
    NO_ANSWER = "no_answer"
    """No HTTP answer: connection refused or reset, a timeout, a TLS failure."""

    @classmethod
    def of_status(cls, status: int) -> RequestOutcome:
        if status >= 500:
            return cls.SERVER_ERROR
        return cls.CLIENT_ERROR if status >= 400 else cls.SUCCESS


class RetryReason(StrEnum):
    """Why a request is sent again."""

    CONNECTION = "connection"
    """No answer (a reset connection, a timeout)."""
    RATE_LIMITED = "rate_limited"
    """429 Too Many Requests."""
    SERVER_ERROR = "server_error"
    """408, 500, 502, 503 or 504."""

    @classmethod
    def of_status(cls, status: int) -> RetryReason:
        return cls.RATE_LIMITED if status == 429 else cls.SERVER_ERROR


class RequestObserver(Protocol):
    """Called on the event loop, after each exchange; must return quickly and never raise."""

    def request_done(self, registry: str, outcome: RequestOutcome) -> None: ...

    def request_retried(self, registry: str, reason: RetryReason) -> None: ...
