"""The shared half of the registry emulators (``harbor_emulator``, ``hub_emulator``).

Why: Harbor and Docker Hub put their own auth, rate limits and REST API in front of a plain
distribution registry. An emulator does the same: an aiohttp server (its own event loop in a
daemon thread, so sync and async tests use it alike) in front of a *real* ``docker-registry``
started without auth. The emulator decides who may do what; everything the registry protocol
itself does (uploads, manifests, digests) is the real registry's answer, streamed through in
64 KiB pieces so large blobs never sit in memory.

This module holds what both need: the server's lifecycle, the streaming forwarder (upload
``Location`` headers are rewritten to the emulator), HMAC-signed JWT bearer tokens with Docker's
``access`` claim, and a read-only view of a repository (tags, every stored manifest including
untagged ones, push times) built from the real registry's API and its storage directory.

Test-only emulator code: never import ``ferry``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import socket
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from tests.support.client import MANIFEST_ACCEPT
from tests.support.registry import RegistryServer, start_registry

PIECE = 64 * 1024
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "transfer-encoding",
    "expect",
    "upgrade",
    "te",
    "trailer",
}
Call = tuple[str, str, int]
"""``(method, raw path without the query, status)`` of one answered request."""


def iso_time(timestamp: float) -> str:
    """RFC 3339 in UTC with milliseconds, the way Harbor and Docker Hub write times."""
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_response(data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        content_type="application/json",
        charset="utf-8",
        headers=dict(headers or {}),
    )


def registry_error(
    status: int,
    code: str,
    message: str,
    *,
    detail: Any = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """A distribution-style error document."""
    error: dict[str, Any] = {"code": code, "message": message}
    if detail is not None:
        error["detail"] = detail
    return json_response(
        {"errors": [error]},
        status=status,
        headers={"Docker-Distribution-Api-Version": "registry/2.0", **(headers or {})},
    )


def basic_credentials(authorization: str) -> tuple[str, str] | None:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def bearer_token(authorization: str) -> str | None:
    scheme, _, value = authorization.partition(" ")
    return (value.strip() or None) if scheme.lower() == "bearer" else None


# -- tokens ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """One entry of a token's ``access`` claim (and of a ``scope`` parameter)."""

    type: str
    name: str
    actions: tuple[str, ...]

    @property
    def scope(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"

    def claim(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}


def parse_scopes(values: Iterable[str]) -> list[Access]:
    """``scope`` query values (each may hold several scopes separated by spaces)."""
    found: list[Access] = []
    for value in values:
        for part in value.split():
            kind, _, rest = part.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind and name:
                found.append(Access(kind, name, tuple(a for a in actions.split(",") if a)))
    return found


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    """Empty for an anonymous token."""
    access: tuple[Access, ...]

    def allows(self, kind: str, name: str, action: str) -> bool:
        return any(
            a.type == kind and a.name == name and (action in a.actions or "*" in a.actions)
            for a in self.access
        )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """JWTs shaped like the Docker token spec's (``iss, sub, aud, exp, access``), signed with a
    random HMAC key: only this emulator has to verify them, clients treat them as opaque."""

    def __init__(self, *, issuer: str, service: str, lifetime: int) -> None:
        self.issuer, self.service, self.lifetime = issuer, service, lifetime
        self._key = secrets.token_bytes(32)

    def issue(self, subject: str, access: Iterable[Access]) -> dict[str, Any]:
        """The token endpoint's JSON answer."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + self.lifetime,
            "nbf": now - 1,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": [a.claim() for a in access],
        }
        head = _b64url(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
        body = _b64url(json.dumps(claims).encode())
        signature = hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        token = f"{head}.{body}.{_b64url(signature)}"
        return {
            "token": token,
            "access_token": token,
            "expires_in": self.lifetime,
            "issued_at": iso_time(now),
        }

    def verify(self, token: str) -> TokenClaims | None:
        """The claims of a token this issuer signed that has not expired, else ``None``."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(expected, _unb64url(parts[2])):
                return None
            claims = json.loads(_unb64url(parts[1]))
        except (binascii.Error, ValueError):
            return None
        if claims.get("aud") != self.service or claims.get("exp", 0) < time.time():
            return None
        access = tuple(Access(a["type"], a["name"], tuple(a["actions"])) for a in claims.get("access", []))
        return TokenClaims(str(claims.get("sub") or ""), access)


def challenge(realm: str, service: str, *, scope: str = "", error: str = "") -> str:
    value = f'Bearer realm="{realm}",service="{service}"'
    if scope:
        value += f',scope="{scope}"'
    if error:
        value += f',error="{error}"'
    return value


# -- registry routes ------------------------------------------------------------------------------

_UPLOADS = re.compile(r"^/v2/(?P<name>.+)/blobs/uploads(?:/[^/]*)?/?$")
_BLOB = re.compile(r"^/v2/(?P<name>.+)/blobs/[^/]+$")
_MANIFEST = re.compile(r"^/v2/(?P<name>.+)/manifests/[^/]+$")
_TAGS = re.compile(r"^/v2/(?P<name>.+)/tags/list$")
_REFERRERS = re.compile(r"^/v2/(?P<name>.+)/referrers/[^/]+$")


@dataclass(frozen=True)
class RepositoryRequest:
    """What a ``/v2/<name>/...`` request needs: an action on a repository (and pull on the
    repository a blob is mounted from)."""

    repository: str
    action: str
    """``pull``, ``push`` or ``delete``."""
    kind: str
    """``manifests``, ``blobs``, ``uploads``, ``tags`` or ``referrers``."""
    mount_from: str | None = None

    @property
    def needs(self) -> list[tuple[str, str]]:
        needed = [(self.repository, self.action)]
        if self.mount_from:
            needed.append((self.mount_from, "pull"))
        return needed


def repository_request(method: str, path: str, query: Mapping[str, str]) -> RepositoryRequest | None:
    """Classify a decoded ``/v2/`` path; ``None`` for ``/v2/``, ``_catalog`` and unknown paths."""
    by_method = {"GET": "pull", "HEAD": "pull", "DELETE": "delete"}.get(method, "push")
    if match := _UPLOADS.match(path):
        mount = query.get("from") if method == "POST" and "mount" in query else None
        return RepositoryRequest(match["name"], "push", "uploads", mount)
    for kind, pattern in (("blobs", _BLOB), ("manifests", _MANIFEST)):
        if match := pattern.match(path):
            return RepositoryRequest(match["name"], by_method, kind)
    if match := _TAGS.match(path):
        return RepositoryRequest(match["name"], "pull", "tags")
    if match := _REFERRERS.match(path):
        return RepositoryRequest(match["name"], "pull", "referrers")
    return None


def scope_actions(action: str) -> str:
    """The actions a client asks a token for when it needs ``action`` (a push needs pull too)."""
    return "pull,push" if action == "push" else action


# -- what the registry holds -----------------------------------------------------------------------


@dataclass(frozen=True)
class StoredManifest:
    digest: str
    media_type: str
    raw: bytes
    document: dict[str, Any]

    @property
    def is_index(self) -> bool:
        return isinstance(self.document.get("manifests"), list)

    @property
    def children(self) -> list[dict[str, Any]]:
        """Descriptors of an index's entries (empty for a single manifest)."""
        return list(self.document.get("manifests") or []) if self.is_index else []

    @property
    def config(self) -> dict[str, Any] | None:
        config = self.document.get("config")
        return config if isinstance(config, dict) else None

    @property
    def layers(self) -> list[dict[str, Any]]:
        return list(self.document.get("layers") or [])


@dataclass(frozen=True)
class RepositoryView:
    """A repository as the registry holds it right now."""

    name: str
    tags: dict[str, str]
    """tag → digest"""
    manifests: dict[str, StoredManifest]
    """Every manifest stored in the repository, tagged or not, by digest."""
    pushed: dict[str, float]
    """digest → when its revision link was written"""
    tag_pushed: dict[str, float]

    def tags_of(self, digest: str) -> list[str]:
        return sorted(tag for tag, target in self.tags.items() if target == digest)

    def referenced(self) -> set[str]:
        """Digests that an index stored in this repository points at."""
        return {c["digest"] for m in self.manifests.values() for c in m.children if "digest" in c}

    def top_level(self) -> list[str]:
        """Tagged manifests and those no index here refers to; newest push first."""
        tagged, referenced = set(self.tags.values()), self.referenced()
        chosen = [d for d in self.manifests if d in tagged or d not in referenced]
        return sorted(chosen, key=lambda d: (-self.pushed.get(d, 0.0), d))

    @property
    def last_updated(self) -> float:
        return max([*self.pushed.values(), *self.tag_pushed.values()], default=0.0)


# -- the server ------------------------------------------------------------------------------------


class RegistryFront:
    """An aiohttp server on ``127.0.0.1:<free port>`` in front of a real registry (no auth) that
    it starts in ``<workdir>/registry``. Subclasses implement :meth:`handle`."""

    thread_name = "registry-front"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.ca_file: Path | None = None
        self._lock = threading.Lock()
        self._registry: RegistryServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._manifest_cache: dict[str, StoredManifest] = {}

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def registry(self) -> RegistryServer:
        """The real registry behind the emulator (no auth: tests may seed it directly)."""
        if self._registry is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._registry

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Self:
        if self._thread is not None:
            return self
        self._registry = start_registry(self.workdir / "registry")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=self.thread_name, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), self._loop).result(timeout=10)
        return self

    async def _open(self) -> None:
        self._http = aiohttp.ClientSession(
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
        )
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        app.on_response_prepare.append(self._on_prepare)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, self._socket).start()

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=15)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()
        self._loop = self._thread = None
        self._socket.close()
        if self._registry is not None:
            self._registry.stop()

    async def _close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- requests ----------------------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        status = 500
        try:
            response = await self.handle(request)
            status = response.status
            return response
        finally:
            self.note(request, status)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError

    def note(self, request: web.Request, status: int) -> None:
        """Record an answered request (called for every request)."""

    async def _on_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        self.decorate(request, response)

    def decorate(self, request: web.Request, response: web.StreamResponse) -> None:
        """Add headers to every answer, forwarded or local, just before it is sent."""

    @property
    def http(self) -> aiohttp.ClientSession:
        assert self._http is not None
        return self._http

    async def forward(
        self, request: web.Request, *, headers: Mapping[str, str] | None = None
    ) -> web.StreamResponse:
        """Send the request on to the real registry and stream its answer back (plus ``headers``)."""
        # a multidict: clients send several Accept headers, and distribution reads them all
        upstream_headers = CIMultiDict(
            (k, v)
            for k, v in request.headers.items()
            if k.lower() not in _HOP_BY_HOP and k.lower() not in ("host", "authorization")
        )
        data = _request_body(request) if request.body_exists else None
        url = URL(self.registry.url + request.raw_path, encoded=True)
        response = web.StreamResponse()
        try:
            async with self.http.request(
                request.method, url, headers=upstream_headers, data=data, allow_redirects=False
            ) as upstream:
                response.set_status(upstream.status, upstream.reason)
                for name, value in upstream.headers.items():
                    if name.lower() in _HOP_BY_HOP or name.lower() == "content-length":
                        continue
                    if name.lower() == "location":
                        value = self._rewrite_location(value)
                    response.headers.add(name, value)
                response.headers.update(headers or {})
                if (length := upstream.headers.get("Content-Length")) is not None:
                    response.content_length = int(length)
                await response.prepare(request)
                if request.method != "HEAD":
                    async for piece in upstream.content.iter_chunked(PIECE):
                        await response.write(piece)
                await response.write_eof()
        except ConnectionResetError:
            pass  # the client went away; what it was sent is all it gets
        except aiohttp.ClientError as exc:
            if response.prepared:
                raise  # the status line is out: dropping the connection is the only signal left
            return registry_error(502, "UNAVAILABLE", f"registry behind the emulator failed: {exc}")
        return response

    def _rewrite_location(self, value: str) -> str:
        parts = urllib.parse.urlsplit(value)
        if parts.scheme and parts.netloc == self.registry.host:
            return urllib.parse.urlunsplit(("http", self.host, parts.path, parts.query, parts.fragment))
        return value

    # -- reading the registry ----------------------------------------------------------------------
    async def catalog(self) -> list[str]:
        """Every repository name the registry lists."""
        names: list[str] = []
        url: URL | None = URL(self.registry.url + "/v2/_catalog?n=1000")
        while url is not None:
            async with self.http.get(url) as resp:
                resp.raise_for_status()
                names.extend((await resp.json()).get("repositories") or [])
                link = resp.headers.get("Link", "")
            url = (
                URL(self.registry.url).join(URL(link[1 : link.index(">")])) if link.startswith("<") else None
            )
        return sorted(names)

    async def find_manifest(self, repository: str, reference: str) -> StoredManifest | None:
        """The manifest a tag or digest names in ``repository``, or ``None``."""
        cached = self._manifest_cache.get(reference)
        if cached is not None and self._revision_link(repository, reference).exists():
            return cached
        url = URL(f"{self.registry.url}/v2/{repository}/manifests/{reference}")
        async with self.http.get(url, headers={"Accept": MANIFEST_ACCEPT}) as resp:
            if resp.status != 200:
                return None
            raw = await resp.read()
            media_type = resp.headers.get("Content-Type", "")
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        manifest = StoredManifest(digest, media_type, raw, json.loads(raw))
        self._manifest_cache[digest] = manifest
        return manifest

    async def find_json_blob(self, repository: str, digest: str, *, limit: int = 1 << 20) -> Any:
        """A small JSON blob (an image config), or ``None`` when missing, large or not JSON."""
        async with self.http.get(URL(f"{self.registry.url}/v2/{repository}/blobs/{digest}")) as resp:
            if resp.status != 200 or (resp.content_length or 0) > limit:
                return None
            try:
                return json.loads(await resp.read())
            except ValueError:
                return None

    async def view(self, repository: str) -> RepositoryView:
        """Tags (from ``tags/list`` and a HEAD each) plus every manifest revision in storage."""
        tags: dict[str, str] = {}
        async with self.http.get(URL(f"{self.registry.url}/v2/{repository}/tags/list")) as resp:
            names = list((await resp.json()).get("tags") or []) if resp.status == 200 else []
        for tag in names:
            url = URL(f"{self.registry.url}/v2/{repository}/manifests/{urllib.parse.quote(tag)}")
            async with self.http.head(url, headers={"Accept": MANIFEST_ACCEPT}) as resp:
                if resp.status == 200 and "Docker-Content-Digest" in resp.headers:
                    tags[tag] = resp.headers["Docker-Content-Digest"]
        pushed = self._revisions(repository)
        manifests: dict[str, StoredManifest] = {}
        for digest in sorted({*pushed, *tags.values()}):
            found = await self.find_manifest(repository, digest)
            if found is not None:
                manifests[digest] = found
        tag_pushed = {tag: self._tag_time(repository, tag) for tag in tags}
        return RepositoryView(repository, tags, manifests, pushed, tag_pushed)

    async def delete_manifest(self, repository: str, digest: str) -> bool:
        url = URL(f"{self.registry.url}/v2/{repository}/manifests/{digest}")
        async with self.http.delete(url) as resp:
            return resp.status == 202

    async def put_manifest(self, repository: str, reference: str, manifest: StoredManifest) -> int:
        url = URL(f"{self.registry.url}/v2/{repository}/manifests/{urllib.parse.quote(reference)}")
        async with self.http.put(
            url, data=manifest.raw, headers={"Content-Type": manifest.media_type}
        ) as resp:
            return resp.status

    def delete_tag(self, repository: str, tag: str) -> bool:
        """Remove one tag and leave its manifest, as distribution's own tag store does."""
        directory = self._repository_dir(repository) / "_manifests" / "tags" / tag
        if not (directory / "current" / "link").exists():
            return False
        for path in sorted(directory.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        directory.rmdir()
        return True

    def _repository_dir(self, repository: str) -> Path:
        return self.registry.storage_dir / "docker" / "registry" / "v2" / "repositories" / repository

    def _revision_link(self, repository: str, digest: str) -> Path:
        algorithm, _, hex_part = digest.partition(":")
        return self._repository_dir(repository) / "_manifests" / "revisions" / algorithm / hex_part / "link"

    def _revisions(self, repository: str) -> dict[str, float]:
        """digest → mtime of every manifest revision link (untagged manifests included)."""
        root = self._repository_dir(repository) / "_manifests" / "revisions"
        found: dict[str, float] = {}
        for link in root.glob("*/*/link"):
            found[f"{link.parent.parent.name}:{link.parent.name}"] = link.stat().st_mtime
        return found

    def _tag_time(self, repository: str, tag: str) -> float:
        link = self._repository_dir(repository) / "_manifests" / "tags" / tag / "current" / "link"
        return link.stat().st_mtime if link.exists() else 0.0


async def _request_body(request: web.Request) -> AsyncIterator[bytes]:
    async for piece in request.content.iter_chunked(PIECE):
        yield piece
