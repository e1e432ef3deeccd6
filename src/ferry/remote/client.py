"""HTTP to a ferry server: one httpx client, HTTP Basic, paging, and the one place where a failed
request becomes a ferry error.

Harbor's error body ``{"errors": [{"code", "message"}]}`` is read for the message; the status picks
the error class and the hint says what to do about it. Credentials never appear in an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from ferry import __version__
from ferry.errors import FerryError, InvalidInput, PreconditionFailed, RecordConflict, RecordNotFound
from ferry.remote.login import API_PREFIX, ServerAccess

PAGE_SIZE = 100
"""The largest page Harbor (and ferry) serves."""
_NOT_FERRY = "is --server (or FERRY_SERVER) the URL of a ferry server, such as http://host:8080?"
_SIGN_IN_FIXES = {
    "environment": "check FERRY_PASSWORD",
    "flags": "check --password",
    "login file": "the saved token may have been revoked",
}


class SignInRefused(InvalidInput):
    """The server answered 401: the password or token is wrong, or the token was revoked."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            raise FerryError(
                f"the server's answer (HTTP {self.status}) is not JSON",
                hint=_NOT_FERRY,
            ) from None

    def created_id(self) -> int:
        """The id at the end of the ``Location`` header of a 201 answer."""
        location = self.headers.get("location", "")
        tail = location.rstrip("/").rsplit("/", 1)[-1]
        if not tail.isdigit():
            raise FerryError(
                f"the server answered {self.status} without the new object's Location (got {location!r})",
                hint=_NOT_FERRY,
            )
        return int(tail)


class ApiClient:
    """Synchronous calls to ``<url>/api/v2.0``; every failure is a ``FerryError``."""

    def __init__(self, access: ServerAccess, *, timeout: float = 60.0) -> None:
        self.access = access
        self._http = httpx.Client(
            base_url=access.url + API_PREFIX,
            auth=httpx.BasicAuth(access.user, access.password),
            # Creating or updating a registry waits for the server's ping of it: give that time.
            timeout=httpx.Timeout(timeout, connect=10.0),
            headers={"User-Agent": f"ferry-cli/{__version__}", "Accept": "application/json"},
        )

    @property
    def url(self) -> str:
        return self.access.url

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Reply:
        try:
            response = self._http.request(method, path, json=body, params=dict(params) if params else None)
        except httpx.TimeoutException as exc:
            raise FerryError(
                f"ferry at {self.url} did not answer {method} {path} in time",
                hint="the server may be overloaded; try again, or check its log",
            ) from exc
        except httpx.TransportError as exc:
            raise FerryError(
                f"cannot reach ferry at {self.url}: {_reason(exc)}",
                hint=f"is `ferry serve` running at {self.url}? set --server or FERRY_SERVER, "
                "or run `ferry login URL`",
            ) from exc
        reply = Reply(response.status_code, response.headers, response.content)
        if reply.status >= 400:
            raise self._error(reply, method, path)
        return reply

    def get(self, path: str, **params: str | int) -> Any:
        return self.request("GET", path, params=params).json()

    def list_all(self, path: str, **params: str | int) -> list[dict[str, Any]]:
        """Every item of a paged list, following pages of ``PAGE_SIZE``."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            reply = self.request("GET", path, params={**params, "page": page, "page_size": PAGE_SIZE})
            chunk = reply.json() or []
            items.extend(chunk)
            total = reply.headers.get("x-total-count")
            if len(chunk) < PAGE_SIZE or (total is not None and len(items) >= int(total)):
                return items
            page += 1

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _error(self, reply: Reply, method: str, path: str) -> FerryError:
        message = _message(reply)
        status = reply.status
        if message is None:
            return FerryError(
                f"{self.url} answered HTTP {status} to {method} {API_PREFIX}{path} "
                "without ferry's error body",
                hint=_NOT_FERRY,
            )
        if status == 401:
            if self.access.source == "login":
                return SignInRefused(
                    f"ferry at {self.url} refused the sign-in: {message}",
                    hint="check the user name and password: the admin password is the one "
                    "FERRY_ADMIN_PASSWORD gave `ferry serve`, or the one it printed at its first start",
                )
            fix = _SIGN_IN_FIXES.get(self.access.source, "check the password")
            return SignInRefused(
                f"ferry at {self.url} refused the sign-in: {message}",
                hint=f"run `ferry login {self.url}` ({fix})",
            )
        if status == 403:
            return InvalidInput(message, hint="sign in as admin: `ferry login -u admin`")
        if status in (400, 405, 422):
            return InvalidInput(message)
        if status == 404:
            return RecordNotFound(message)
        if status == 409:
            return RecordConflict(message)
        if status == 412:
            return PreconditionFailed(message)
        if status == 429:
            wait = reply.headers.get("retry-after")
            return FerryError(
                message,
                hint=f"the server asks to wait {wait} s (Retry-After) before trying again"
                if wait
                else "wait a little before trying again",
            )
        return FerryError(
            f"ferry at {self.url} failed on {method} {API_PREFIX}{path}: {message}",
            hint="see the server's log; try again once it is fixed",
        )


def _message(reply: Reply) -> str | None:
    """The messages of Harbor's error body; None when the body is not one (not a ferry server)."""
    try:
        document = json.loads(reply.body)
    except ValueError:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("errors"), list):
        return None
    messages = [str(item.get("message", "")) for item in document["errors"] if isinstance(item, dict)]
    return "; ".join(text for text in messages if text) or f"HTTP {reply.status}"


def _reason(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError) and "refused" in text.lower():
        return "connection refused"
    return text
