"""Proxies that misbehave on purpose in front of a real registry.

Why: retry, back-off, resumable uploads and redirect handling can only be
tested if failures happen on cue.  Each class here is a :class:`ReverseProxy`
(see ``proxy.py``) with a scripted :meth:`decide`; use them as context
managers and point the client under test at ``proxy.url`` / ``proxy.host``.

What real distribution 2.8 does with a cut upload (checked in
``tests/support_tests/test_faults.py``): it answers the truncated PATCH with
499 (or 500) and *keeps* the bytes it received, but the upload session is then
unusable: the next request carrying the pre-PATCH ``_state`` (e.g. the ``GET``
status request) gets ``404 BLOB_UPLOAD_INVALID`` and the registry cancels the
upload (log: "upload resumed at wrong offest: N != M").  Only a PATCH cut
before any body byte arrived (``cut_after_bytes=0``) leaves the session
resumable, with ``Range`` covering the earlier, acknowledged PATCHes.  A client
facing 2.8 must therefore be ready to restart an upload from scratch.

Test-only code.
"""

from __future__ import annotations

import asyncio
import base64
import re
import threading
from collections.abc import Callable
from typing import Literal, Self

from tests.support.proxy import Cut, Decision, Forward, Hold, ReverseProxy, Upstream, json_error

Matcher = Callable[[str, str], bool]
_BLOB_PATH = re.compile(r"^/v2/(?P<repo>.+)/blobs/(?P<digest>[a-z0-9]+:[a-f0-9]+)$")
_STORAGE_PATH = re.compile(r"^/storage/(?P<repo>.+)/blobs/(?P<digest>[a-z0-9]+:[a-f0-9]+)$")


def any_request(method: str, path: str) -> bool:
    return True


def upload_body(method: str, path: str) -> bool:
    """A PATCH or PUT carrying blob bytes to an upload session."""
    return method in ("PATCH", "PUT") and "/blobs/uploads/" in path


def upload_patch(method: str, path: str) -> bool:
    return method == "PATCH" and "/blobs/uploads/" in path


def upload_start(method: str, path: str) -> bool:
    return method == "POST" and path.endswith("/blobs/uploads/")


def blob_get(method: str, path: str) -> bool:
    return method == "GET" and _BLOB_PATH.match(path) is not None


def manifest_request(method: str, path: str) -> bool:
    return "/manifests/" in path


def _path(target: str) -> str:
    return target.split("?", 1)[0]


class FlakyProxy(ReverseProxy):
    """Answers the first ``len(fail_statuses)`` matching requests with those statuses, then proxies.

    ``retry_after`` is sent verbatim as ``Retry-After`` (seconds or an HTTP date); ``code`` is the
    registry error code in the body (by default ``TOOMANYREQUESTS`` for 429, else ``UNAVAILABLE``).
    ``matched`` counts matching requests, ``failed`` how many were refused.
    """

    def __init__(
        self,
        upstream: Upstream,
        *,
        fail_statuses: list[int],
        retry_after: str | None = None,
        match: Matcher = any_request,
        code: str | None = None,
    ) -> None:
        super().__init__(upstream)
        self.code = code
        self.fail_statuses = list(fail_statuses)
        self.retry_after = retry_after
        self.match = match
        self.matched = 0
        self.failed = 0

    def decide(self, method: str, target: str, headers: dict[str, str]) -> Decision:
        if not self.match(method, _path(target)):
            return Forward()
        self.matched += 1
        if self.failed >= len(self.fail_statuses):
            return Forward()
        status = self.fail_statuses[self.failed]
        self.failed += 1
        extra = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
        code = self.code or ("TOOMANYREQUESTS" if status == 429 else "UNAVAILABLE")
        return json_error(status, code, f"injected failure {self.failed}", extra)


class CuttingProxy(ReverseProxy):
    """Cuts the first ``times`` matching requests, then proxies normally.

    ``where="request"``: forward ``cut_after_bytes`` of the body, then close
    upstream (FIN, so it receives exactly those bytes) and reset the client.
    ``where="response"``: forward everything, let upstream answer, then reset
    the client without relaying the answer.  ``body_bytes_forwarded`` (total
    request-body bytes sent upstream) lets a test tell a resumed upload from a
    restarted one.
    """

    def __init__(
        self,
        upstream: Upstream,
        *,
        cut_after_bytes: int,
        match: Matcher = upload_body,
        times: int = 1,
        where: Literal["request", "response"] = "request",
    ) -> None:
        super().__init__(upstream)
        if where not in ("request", "response"):
            raise ValueError("where must be 'request' or 'response'")
        self.cut_after_bytes = cut_after_bytes
        self.match = match
        self.remaining_cuts = times
        self.where: Literal["request", "response"] = where
        self.cuts = 0

    def decide(self, method: str, target: str, headers: dict[str, str]) -> Decision:
        if self.remaining_cuts > 0 and self.match(method, _path(target)):
            self.remaining_cuts -= 1
            self.cuts += 1
            return Cut(self.cut_after_bytes, self.where)
        return Forward()


class BlobStorage(ReverseProxy):
    """The "other host" behind a redirect: serves ``/storage/<repo>/blobs/<digest>`` from upstream.

    It authenticates to upstream itself (Basic, or a token minted by the
    upstream's token server), so the request from the client under test must
    not need, and should not carry, an ``Authorization`` header — check
    ``authorization_seen``.
    """

    def _upstream_auth(self, repo: str) -> dict[str, str]:
        token_server = getattr(self.upstream, "token_server", None)
        if token_server is not None:
            token = token_server.issue("blob-storage", [("repository", repo, ["pull"])])
            return {"Authorization": f"Bearer {token}"}
        if self.upstream.username is not None:
            raw = f"{self.upstream.username}:{self.upstream.password or ''}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        return {}

    def decide(self, method: str, target: str, headers: dict[str, str]) -> Decision:
        match = _STORAGE_PATH.match(_path(target))
        if match is None:
            return json_error(404, "NOT_FOUND", "storage only serves /storage/<repo>/blobs/<digest>")
        repo, digest = match["repo"], match["digest"]
        return Forward(target=f"/v2/{repo}/blobs/{digest}", extra_headers=self._upstream_auth(repo))

    @property
    def authorization_seen(self) -> list[str]:
        """``Authorization`` values the storage host received from clients (should be empty)."""
        return [r.headers["authorization"] for r in self.requests if "authorization" in r.headers]


class RedirectingProxy(ReverseProxy):
    """Proxies to a registry but redirects blob GETs (and HEADs if asked) to :class:`BlobStorage`.

    ``storage_host`` is the host name written into the redirect: ``127.0.0.1``
    (same host, other port) or ``localhost`` (a different host name).
    """

    def __init__(
        self,
        upstream: Upstream,
        *,
        status: int = 307,
        redirect_head: bool = False,
        storage_host: str = "127.0.0.1",
    ) -> None:
        super().__init__(upstream)
        self.storage = BlobStorage(upstream)
        self.status = status
        self.redirect_head = redirect_head
        self.storage_host = storage_host
        self.redirects = 0

    def start(self) -> Self:
        self.storage.start()
        return super().start()

    def stop(self) -> None:
        super().stop()
        self.storage.stop()

    def decide(self, method: str, target: str, headers: dict[str, str]) -> Decision:
        match = _BLOB_PATH.match(_path(target))
        if match is None or not (method == "GET" or (method == "HEAD" and self.redirect_head)):
            return Forward()
        self.redirects += 1
        location = (
            f"http://{self.storage_host}:{self.storage.port}/storage/{match['repo']}/blobs/{match['digest']}"
            f"?signature=test-{self.redirects}"
        )
        return json_error(self.status, "REDIRECT", "see other host", {"Location": location})


class HoldingProxy(ReverseProxy):
    """A destination that is as slow as the test wants: while :meth:`hold` is in force, matching
    requests (by default the bodies of blob uploads) wait, unanswered and with their bodies unread,
    until :meth:`release`. A copy through it stays in progress for exactly as long as the test needs
    (to watch it, or to stop it), with no bandwidth or timing guesses. It starts open: everything
    passes until :meth:`hold`. ``held`` counts the requests that had to wait.

    A held request whose client gives up (a stopped copy closes its connection) is dropped on
    release; held requests still waiting when the proxy stops are simply abandoned.
    """

    def __init__(self, upstream: Upstream, *, match: Matcher = upload_body) -> None:
        super().__init__(upstream)
        self.match = match
        self.held = 0
        self._gate: asyncio.Event | None = None  # None: open
        self._gate_lock = threading.Lock()

    def hold(self) -> None:
        """From now on, matching requests wait for :meth:`release`."""
        with self._gate_lock:
            if self._gate is None:
                self._gate = asyncio.Event()  # bound to the proxy's loop on its first wait

    def release(self) -> None:
        """Let every held request go on, and stop holding new ones."""
        with self._gate_lock:
            gate, self._gate = self._gate, None
        if gate is None:
            return
        if self._thread is not None:
            self._loop.call_soon_threadsafe(gate.set)
        else:
            gate.set()

    def decide(self, method: str, target: str, headers: dict[str, str]) -> Decision:
        with self._gate_lock:
            gate = self._gate
        if gate is None or not self.match(method, _path(target)):
            return Forward()
        self.held += 1
        return Hold(gate)
