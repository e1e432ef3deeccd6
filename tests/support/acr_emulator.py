"""An **emulator** of Alibaba Cloud Container Registry (ACR), personal and enterprise editions.

Why: nobody can reach Alibaba Cloud from the development machines, yet ferry must replicate into
ACR and must explain ACR's refusals clearly.  This emulator is built from the facts collected in
``shared/reference/alibaba-acr.md`` (Alibaba's documentation, Harbor's ``ali-acr`` adapter and
users' reports); it is *not* ACR and proves only that ferry handles those facts.  Where the facts
say nothing, the choices made here are marked "(emulator's choice)".

Two listeners run on an asyncio loop in a daemon thread:

* the **registry endpoint** (``url``): a front for a real CNCF distribution (``start_registry``,
  no auth) that owns what ACR owns: the Docker token flow (Basic with the account's fixed
  password or a temporary ``cr_temp_user`` password from the OpenAPI), namespace ownership
  (``DENIED`` with HTTP 403 when a token asked for an action it did not get, already at the blob
  HEAD), no ``/v2/_catalog``, no manifests whose config is ``application/vnd.oci.empty.v1+json``,
  and repositories created by the first push.  Everything else, blobs included, is streamed to the
  real registry;
* the **OpenAPI endpoint** (``openapi_url``, standing for ``https://cr.<region>.aliyuncs.com``):
  requests signed with ACS3-HMAC-SHA256 are verified with Alibaba's own
  ``alibabacloud_openapi_util``; the personal edition speaks the 2016-06-07 path style (ROA), the
  enterprise edition the 2018-12-01 action style (RPC).

How a registry request is judged (the token remembers what it asked for and what it got): no
token, or a token that never asked for the action → 401 with a challenge naming the scope (as
distribution answers, so clients fetch a wider token); asked for but not granted → 403 ``DENIED``
(anonymous tokens get the 401 instead).  OpenAPI requests also need a fresh ``x-acs-signature-nonce``
(``SignatureNonceUsed`` on reuse) and an ``x-acs-date`` within 15 minutes.

Test-only code: never import ``ferry`` here.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import shutil
import socket
import threading
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import aiohttp
from aiohttp import web
from alibabacloud_openapi_util.client import Client as OpenApiUtil
from multidict import CIMultiDict
from yarl import URL

from tests.support.registry import RegistryServer, start_registry

Edition = Literal["personal", "enterprise"]

TEMP_USERNAME = "cr_temp_user"
TOKEN_LIFETIME = 3600  # registry tokens and temporary passwords both live one hour
PERSONAL_VERSION = "2016-06-07"
ENTERPRISE_VERSION = "2018-12-01"
SIGNATURE_ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
NAMESPACE_LIMIT = {"personal": 3, "enterprise": 15}  # personal per account; enterprise (basic) per instance
TIMESTAMP_SKEW = 15 * 60  # seconds an x-acs-date may differ from now
MANIFEST_LIMIT = 4 * 1024 * 1024  # distribution's own limit for a manifest body
MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "transfer-encoding",
    "expect",
    "upgrade",
    "te",
    "trailer",
    "host",
    "authorization",
}
_NAMESPACE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,29}$")
_PATH_PART = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_REPO_PATH = re.compile(r"^/v2/(?P<name>.+)/(?:blobs/uploads/.*|blobs/[^/]+|manifests/[^/]+|tags/list)$")
_MANIFEST_PATH = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)$")
_AUTHORIZATION = re.compile(
    r"^(?P<algorithm>\S+) Credential=(?P<key>[^,\s]+),SignedHeaders=(?P<signed>[^,\s]*),"
    r"Signature=(?P<signature>[0-9a-f]+)$"
)


@dataclass
class _Namespace:
    owner: str
    auto_create_repo: bool
    namespace_id: int


@dataclass
class _Token:
    account: str | None  # None: anonymous
    requested: dict[str, frozenset[str]]  # repository → actions asked for
    granted: dict[str, frozenset[str]]  # repository → actions given
    expires: float


@dataclass
class _SignedRequest:
    """What ``OpenApiUtil.get_authorization`` reads from a request."""

    method: str
    pathname: str
    query: dict[str, str]
    headers: dict[str, str]


class _OpenApiError(Exception):
    """An OpenAPI answer other than success: HTTP status and JSON body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


@dataclass
class _State:
    accounts: dict[str, str | None] = field(default_factory=dict)  # account → fixed password
    access_keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # key id → (account, secret)
    namespaces: dict[str, _Namespace] = field(default_factory=dict)
    repositories: set[str] = field(default_factory=set)
    temp_passwords: dict[str, tuple[str, float]] = field(default_factory=dict)  # → (account, expiry)
    tokens: dict[str, _Token] = field(default_factory=dict)
    nonces: set[str] = field(default_factory=set)
    openapi_calls: list[tuple[str, float, str | None]] = field(default_factory=list)
    denied: list[tuple[str, str]] = field(default_factory=list)
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    next_namespace_id: int = 1000


def _request_id() -> str:
    return str(uuid.uuid4()).upper()


def _registry_error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    body = {"errors": [{"code": code, "message": message, "detail": None}]}
    return web.json_response(
        body,
        status=status,
        headers={"Docker-Distribution-API-Version": "registry/2.0", **(headers or {})},
    )


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def _split_repository(name: str) -> tuple[str, str] | None:
    """``ns/repo`` → ``(ns, repo)``; ACR paths are exactly two levels, anything else is ``None``."""
    parts = name.split("/")
    if len(parts) != 2 or not all(_PATH_PART.match(p) for p in parts):
        return None
    return parts[0], parts[1]


def _page(query: Mapping[str, str], number: str, size: str) -> tuple[int, int]:
    """Page number and size (defaults 1 and 30; at most 100 a page); the personal edition calls them
    ``Page``/``PageSize`` and answers in lower case, the enterprise one ``PageNo``/``PageSize``."""
    try:
        page, page_size = int(query.get(number, "1")), int(query.get(size, "30"))
    except ValueError:
        page, page_size = 0, 0
    if page < 1 or not 1 <= page_size <= 100:
        message = f"{number} or {size} is invalid"
        if number == "Page":
            raise _OpenApiError(
                400, {"code": "PARAM_INVALID", "message": message, "requestId": _request_id()}
            )
        raise _OpenApiError(400, {"Code": "PARAM_INVALID", "Message": message, "RequestId": _request_id()})
    return page, page_size


class AcrEmulator:
    """ACR (personal or enterprise) in front of a real registry; see the module docstring.

    Use as a context manager.  Accounts, AccessKeys and namespaces are set up with ``add_*``;
    ``username``/``password`` are the first account's, so the emulator is an ``Endpoint`` for
    ``tests.support.images``/``client``/``skopeo``.
    """

    ca_file: Path | None = None
    tls = False

    def __init__(
        self,
        workdir: Path,
        *,
        edition: Edition = "personal",
        region: str = "cn-hangzhou",
        instance_id: str = "cri-emu0000000001",
    ) -> None:
        if edition not in ("personal", "enterprise"):
            raise ValueError(f"unknown edition {edition!r}")
        self.workdir = workdir
        self.edition: Edition = edition
        self.region = region
        self.instance_id = instance_id
        self._state = _State()
        self._lock = threading.Lock()
        self._registry: RegistryServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []
        self._session: aiohttp.ClientSession | None = None
        self._port = 0
        self._openapi_port = 0

    # -- endpoint ---------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def openapi_url(self) -> str:
        return f"http://127.0.0.1:{self._openapi_port}"

    @property
    def service(self) -> str:
        if self.edition == "personal":
            return f"registry.aliyuncs.com:{self.region}:26842"
        return f"registry.aliyuncs.com:{self.region}:china:{self.instance_id}"

    @property
    def realm(self) -> str:
        return f"{self.url}/auth"

    @property
    def registry(self) -> RegistryServer:
        if self._registry is None:
            raise RuntimeError("the emulator is not started")
        return self._registry

    @property
    def username(self) -> str | None:
        with self._lock:
            return next(iter(self._state.accounts), None)

    @property
    def password(self) -> str | None:
        with self._lock:
            return next(iter(self._state.accounts.values()), None)

    # -- set-up -----------------------------------------------------------------------------
    def add_account(self, name: str, password: str | None) -> None:
        """``password`` is the fixed registry password (访问凭证); ``None``: never set."""
        with self._lock:
            self._state.accounts[name] = password

    def add_access_key(self, account: str, key_id: str, secret: str) -> None:
        with self._lock:
            if account not in self._state.accounts:
                raise ValueError(f"unknown account {account!r}")
            self._state.access_keys[key_id] = (account, secret)

    def add_namespace(self, name: str, owner: str, *, auto_create_repo: bool = True) -> None:
        with self._lock:
            self._new_namespace(name, owner, auto_create_repo)

    def add_repository(self, namespace: str, repo: str) -> None:
        with self._lock:
            if namespace not in self._state.namespaces:
                raise ValueError(f"unknown namespace {namespace!r}")
            self._state.repositories.add(f"{namespace}/{repo}")

    # -- what happened ----------------------------------------------------------------------
    @property
    def namespaces(self) -> dict[str, str]:
        with self._lock:
            return {name: ns.owner for name, ns in self._state.namespaces.items()}

    @property
    def repositories(self) -> set[str]:
        """Repositories pushed through the emulator or added; content pushed straight to ``registry``
        under an auto-create namespace counts as pushed (emulator's choice)."""
        with self._lock:
            return self._repositories()

    @property
    def openapi_calls(self) -> list[tuple[str, float, str | None]]:
        """Every OpenAPI request: ``(x-acs-action, time.time(), AccessKey id or None)``."""
        with self._lock:
            return list(self._state.openapi_calls)

    @property
    def denied(self) -> list[tuple[str, str]]:
        """Every registry request answered ``DENIED``: ``(method, path)``."""
        with self._lock:
            return list(self._state.denied)

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        """Every registry-side request (the token service included): ``(method, path, status)``."""
        with self._lock:
            return list(self._state.requests)

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> Self:
        if self._thread is not None:
            return self
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._registry = start_registry(self.workdir / "registry")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="acr-emulator", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()
        self._loop, self._thread = None, None
        if self._registry is not None:
            self._registry.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def _serve(self) -> None:
        self._session = aiohttp.ClientSession(
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
            connector=aiohttp.TCPConnector(limit=0),
        )
        self._port = await self._listen(self._registry_handler)
        self._openapi_port = await self._listen(self._openapi_handler)

    async def _listen(self, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> int:
        app = web.Application(client_max_size=MANIFEST_LIMIT)
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        self._runners.append(runner)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        await web.SockSite(runner, sock).start()
        return port

    async def _shutdown(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- state helpers (call with the lock held) ---------------------------------------------
    def _new_namespace(self, name: str, owner: str, auto_create_repo: bool) -> int:
        if owner not in self._state.accounts:
            raise ValueError(f"unknown account {owner!r}")
        self._state.next_namespace_id += 1
        self._state.namespaces[name] = _Namespace(owner, auto_create_repo, self._state.next_namespace_id)
        return self._state.next_namespace_id

    def _repositories(self) -> set[str]:
        found = set(self._state.repositories)
        if self._registry is not None:
            root = self._registry.storage_dir / "docker/registry/v2/repositories"
            for name, ns in self._state.namespaces.items():
                if ns.auto_create_repo and (root / name).is_dir():
                    found.update(
                        f"{name}/{d.name}" for d in (root / name).iterdir() if (d / "_manifests").is_dir()
                    )
        return found

    def _grant(self, account: str | None, repository: str, requested: frozenset[str]) -> frozenset[str]:
        """What ACR gives: pull+push on repositories of the account's own namespaces, nothing else."""
        split = _split_repository(repository)
        if account is None or split is None:
            return frozenset()
        ns = self._state.namespaces.get(split[0])
        if ns is None or ns.owner != account:
            return frozenset()
        allowed = {"pull", "push"}
        if not ns.auto_create_repo and repository not in self._repositories():
            allowed.discard("push")
        return requested & allowed

    # -- registry endpoint ------------------------------------------------------------------
    def _challenge(self, scope: str | None = None) -> dict[str, str]:
        value = f'Bearer realm="{self.realm}",service="{self.service}"'
        if scope is not None:
            value += f',scope="{scope}"'
        return {"WWW-Authenticate": value}

    async def _registry_handler(self, request: web.Request) -> web.StreamResponse:
        response = await self._registry_answer(request)
        with self._lock:
            self._state.requests.append((request.method, request.path, response.status))
            if response.status == 403:
                self._state.denied.append((request.method, request.path))
        return response

    async def _registry_answer(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path == "/auth":
            return self._token_endpoint(request)
        if path == "/v2/_catalog":
            return _registry_error(404, "UNSUPPORTED", "catalog is not supported; use the OpenAPI")
        if path in ("/v2", "/v2/"):
            if self._bearer(request) is None:
                return _registry_error(401, "UNAUTHORIZED", "authentication required", self._challenge())
            return await self._forward(request)
        match = _REPO_PATH.match(path)
        if match is None:
            return _registry_error(404, "NOT_FOUND", "not found")
        repository = match.group("name")
        action = "pull" if request.method in ("GET", "HEAD") else "push"
        scope = f"repository:{repository}:{'pull' if action == 'pull' else 'pull,push'}"
        token = self._bearer(request)
        if token is None or action not in token.requested.get(repository, frozenset()):
            # no token, or one that never asked for this action: distribution's challenge
            return _registry_error(401, "UNAUTHORIZED", "authentication required", self._challenge(scope))
        if action not in token.granted.get(repository, frozenset()):
            if token.account is None:
                return _registry_error(401, "UNAUTHORIZED", "authentication required", self._challenge(scope))
            return _registry_error(403, "DENIED", "requested access to the resource is denied")
        target = request.raw_path
        if request.method == "POST" and "mount" in request.query:
            source = request.query.get("from", "")
            if "pull" not in token.granted.get(source, frozenset()):
                # a mount from a repository this token cannot read starts a plain upload
                # (emulator's choice; what ACR does is unverified)
                target = (
                    request.path
                    + "?"
                    + urllib.parse.urlencode(
                        [(k, v) for k, v in request.query.items() if k not in ("mount", "from")]
                    )
                )
                target = target.rstrip("?")
        manifest = _MANIFEST_PATH.match(path)
        if request.method == "PUT" and manifest is not None:
            return await self._put_manifest(request, repository, target)
        return await self._forward(request, target)

    def _bearer(self, request: web.Request) -> _Token | None:
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        with self._lock:
            token = self._state.tokens.get(header[7:].strip())
        if token is None or token.expires < time.time():
            return None
        return token

    def _token_endpoint(self, request: web.Request) -> web.Response:
        account: str | None = None
        header = request.headers.get("Authorization")
        unauthorized = _registry_error(401, "UNAUTHORIZED", "authentication required")
        if header is not None:
            credentials = _basic_credentials(header)
            if credentials is None:
                return unauthorized
            user, password = credentials
            now = time.time()
            with self._lock:
                fixed = self._state.accounts.get(user)
                temp = self._state.temp_passwords.get(password)
            if user != TEMP_USERNAME and fixed is not None and hmac.compare_digest(fixed, password):
                account = user
            elif user == TEMP_USERNAME and temp is not None and temp[1] > now:
                account = temp[0]
            else:
                return unauthorized
        requested: dict[str, frozenset[str]] = {}
        for scope in request.query.getall("scope", []):
            for item in scope.split(" "):
                kind, _, rest = item.partition(":")
                name, _, actions = rest.rpartition(":")
                if kind == "repository" and name:
                    requested[name] = requested.get(name, frozenset()) | frozenset(actions.split(","))
        with self._lock:
            granted = {name: self._grant(account, name, actions) for name, actions in requested.items()}
            value = secrets.token_urlsafe(32)
            self._state.tokens[value] = _Token(account, requested, granted, time.time() + TOKEN_LIFETIME)
        return web.json_response({"token": value, "expires_in": TOKEN_LIFETIME})

    async def _put_manifest(self, request: web.Request, repository: str, target: str) -> web.StreamResponse:
        pieces: list[bytes] = []
        async for piece in request.content.iter_any():
            pieces.append(piece)
            if sum(map(len, pieces)) > MANIFEST_LIMIT:
                return _registry_error(400, "SIZE_INVALID", "manifest too large")
        body = b"".join(pieces)
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            document = json.loads(body)
            if document.get("config", {}).get("mediaType") == EMPTY_CONFIG:
                return _registry_error(403, "DENIED", f"unknown manifest class for {EMPTY_CONFIG}")
        response = await self._forward(request, target, body=body)
        if response.status == 201:
            with self._lock:
                namespace = repository.split("/", 1)[0]
                ns = self._state.namespaces.get(namespace)
                if ns is not None and ns.auto_create_repo:
                    self._state.repositories.add(repository)
        return response

    async def _forward(
        self, request: web.Request, target: str | None = None, *, body: bytes | None = None
    ) -> web.StreamResponse:
        """Stream the request to the real registry and its answer back."""
        assert self._session is not None
        upstream = self.registry.url
        # a multidict: clients send several Accept headers, and distribution reads them all
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP)
        data: Any = None
        if body is not None:
            data = body
            headers["Content-Length"] = str(len(body))
        elif request.body_exists:
            data = request.content
        url = URL(upstream + (target or request.raw_path), encoded=True)
        async with self._session.request(
            request.method,
            url,
            headers=headers,
            data=data,
            allow_redirects=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
        ) as answer:
            out: dict[str, str] = {}
            for k, v in answer.headers.items():
                if k.lower() in _HOP_BY_HOP:
                    continue
                if k.lower() == "location" and v.startswith(upstream):
                    v = self.url + v[len(upstream) :]
                out[k] = v
            response = web.StreamResponse(status=answer.status, reason=answer.reason, headers=out)
            if "Content-Length" in answer.headers:
                response.content_length = int(answer.headers["Content-Length"])
            await response.prepare(request)
            if request.method != "HEAD":
                async for piece in answer.content.iter_chunked(64 * 1024):
                    await response.write(piece)
            await response.write_eof()
            return response

    # -- OpenAPI endpoint -------------------------------------------------------------------
    async def _openapi_handler(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        action = request.headers.get("x-acs-action", "")
        try:
            account, key_id = self._authenticate(request, body)
        except _OpenApiError as error:
            with self._lock:
                self._state.openapi_calls.append((action, time.time(), None))
            return web.json_response(error.body, status=error.status)
        with self._lock:
            self._state.openapi_calls.append((action, time.time(), key_id))
        try:
            if self.edition == "personal":
                status, answer = await self._personal(request, body, account, action)
            else:
                status, answer = await self._enterprise(request, body, account, action)
        except _OpenApiError as error:
            return web.json_response(error.body, status=error.status)
        return web.json_response(answer, status=status)

    def _authenticate(self, request: web.Request, body: bytes) -> tuple[str, str]:
        """Verify an ACS3-HMAC-SHA256 signature with Alibaba's own util; returns (account, key id)."""
        request_id = _request_id()

        def fail(status: int, code: str, message: str) -> _OpenApiError:
            return _OpenApiError(status, {"Code": code, "Message": message, "RequestId": request_id})

        match = _AUTHORIZATION.match(request.headers.get("Authorization", ""))
        if match is None or match.group("algorithm") != SIGNATURE_ALGORITHM:
            raise fail(
                400, "IncompleteSignature", "The request signature does not conform to Aliyun standards."
            )
        payload = request.headers.get("x-acs-content-sha256")
        for needed in (
            "x-acs-content-sha256",
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-action",
            "x-acs-version",
        ):
            if needed not in request.headers:
                raise fail(400, "IncompleteSignature", f"The request signature lacks the {needed} header.")
        key_id = match.group("key")
        with self._lock:
            key = self._state.access_keys.get(key_id)
        if key is None:
            raise fail(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        account, secret = key
        headers = {
            k.lower(): v
            for k, v in request.headers.items()
            if k.lower() in ("host", "content-type") or k.lower().startswith("x-acs-")
        }
        signed = _SignedRequest(
            method=request.method,
            pathname=request.raw_path.split("?", 1)[0],
            query={k: v for k, v in request.query.items()},
            headers=headers,
        )
        expected: str = OpenApiUtil.get_authorization(signed, SIGNATURE_ALGORITHM, payload, key_id, secret)
        if (
            not hmac.compare_digest(expected, request.headers["Authorization"])
            or payload != hashlib.sha256(body).hexdigest()
        ):
            raise fail(400, "SignatureDoesNotMatch", "Specified signature does not match our calculation.")
        try:
            stamp = dt.datetime.strptime(request.headers["x-acs-date"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=dt.UTC
            )
        except ValueError:
            message = "Specified time stamp or date value is not well formatted."
            raise fail(400, "InvalidTimeStamp.Format", message) from None
        if abs(stamp.timestamp() - time.time()) > TIMESTAMP_SKEW:
            raise fail(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        nonce = request.headers["x-acs-signature-nonce"]
        with self._lock:
            if nonce in self._state.nonces:
                raise fail(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            self._state.nonces.add(nonce)
        return account, key_id

    # personal edition (2016-06-07, ROA) ----------------------------------------------------
    async def _personal(
        self, request: web.Request, body: bytes, account: str, action: str
    ) -> tuple[int, dict[str, Any]]:
        parts = [urllib.parse.unquote(p) for p in request.raw_path.split("?", 1)[0].strip("/").split("/")]
        method = request.method
        routes: list[tuple[str, str, Callable[[], Awaitable[tuple[int, dict[str, Any]]]]]] = []
        if parts == ["tokens"]:
            routes.append(("GET", "GetAuthorizationToken", lambda: self._p_token(account)))
        elif parts == ["namespace"]:
            routes.append(("GET", "GetNamespaceList", lambda: self._p_namespaces(account)))
            routes.append(("PUT", "CreateNamespace", lambda: self._p_create_namespace(account, body)))
        elif len(parts) == 2 and parts[0] == "namespace":
            routes.append(("GET", "GetNamespace", lambda: self._p_namespace(account, parts[1])))
        elif len(parts) == 2 and parts[0] == "repos":
            routes.append(
                ("GET", "GetRepoListByNamespace", lambda: self._p_repos(account, parts[1], request))
            )
        elif len(parts) == 3 and parts[0] == "repos":
            routes.append(("GET", "GetRepo", lambda: self._p_repo(account, parts[1], parts[2])))
        elif len(parts) == 4 and parts[0] == "repos" and parts[3] == "tags":
            routes.append(("GET", "GetRepoTags", lambda: self._p_tags(account, parts[1], parts[2], request)))
        elif len(parts) == 5 and parts[0] == "repos" and parts[3] == "tags":
            routes.append(
                ("DELETE", "DeleteRepoTag", lambda: self._p_delete_tag(account, parts[1], parts[2], parts[4]))
            )
        version = request.headers.get("x-acs-version")
        for route_method, route_action, run in routes:
            if method == route_method and action == route_action and version == PERSONAL_VERSION:
                status, data = await run()
                if status != 200:
                    return status, {**data, "requestId": _request_id()}
                return 200, {"data": data, "requestId": _request_id()}
        raise _invalid_action(action)

    def _p_namespace_of(self, account: str, name: str) -> _Namespace:
        ns = self._state.namespaces.get(name)
        if ns is None or ns.owner != account:
            raise _OpenApiError(
                404,
                {"code": "NAMESPACE_NOT_EXIST", "message": "namespace not exist", "requestId": _request_id()},
            )
        return ns

    async def _p_token(self, account: str) -> tuple[int, dict[str, Any]]:
        issued = self._temp_password(account)
        if issued is None:
            return 400, {"code": "USER_NOT_EXIST", "message": "user not exist"}
        password, expires = issued
        return 200, {"authorizationToken": password, "tempUserName": TEMP_USERNAME, "expireDate": expires}

    async def _p_namespaces(self, account: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            names = sorted(n for n, ns in self._state.namespaces.items() if ns.owner == account)
        entries = [{"namespace": n, "authorizeType": "ADMIN", "namespaceStatus": "NORMAL"} for n in names]
        return 200, {"namespaces": entries}

    async def _p_namespace(self, account: str, name: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            ns = self._p_namespace_of(account, name)
        return 200, {
            "namespace": name,
            "authorizeType": "ADMIN",
            "namespaceStatus": "NORMAL",
            "autoCreate": ns.auto_create_repo,
            "defaultVisibility": "PRIVATE",
        }

    async def _p_create_namespace(self, account: str, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            name = json.loads(body)["Namespace"]["Namespace"]
            if not isinstance(name, str):
                raise TypeError(name)
        except (ValueError, KeyError, TypeError):
            return 400, {
                "code": "PARAM_INVALID",
                "message": 'body must be {"Namespace":{"Namespace":"<name>"}}',
            }
        with self._lock:
            error = self._namespace_refusal(account, name)
            if error is not None:
                return 400, {"code": error[0], "message": error[1]}
            namespace_id = self._new_namespace(name, account, True)
        return 200, {"namespaceId": namespace_id}

    def _namespace_refusal(self, account: str, name: str) -> tuple[str, str] | None:
        if not _NAMESPACE_NAME.match(name):
            return (
                "NAMESPACE_NAME_INVALID",
                "namespace name is invalid: 2-30 of a-z 0-9 _ -, not starting with _ or -",
            )
        if name in self._state.namespaces:
            return "NAMESPACE_ALREADY_EXIST", "namespace already exist"
        owned = [
            ns
            for ns in self._state.namespaces.values()
            if self.edition == "enterprise" or ns.owner == account
        ]
        if len(owned) >= NAMESPACE_LIMIT[self.edition]:
            return (
                "NAMESPACE_LIMIT_EXCEED",
                f"namespace count exceeds the limit of {NAMESPACE_LIMIT[self.edition]}",
            )
        return None

    async def _p_repos(
        self, account: str, namespace: str, request: web.Request
    ) -> tuple[int, dict[str, Any]]:
        page, size = _page(request.query, "Page", "PageSize")
        with self._lock:
            self._p_namespace_of(account, namespace)
            names = sorted(
                r.split("/", 1)[1] for r in self._repositories() if r.split("/", 1)[0] == namespace
            )
        repos = [
            {"repoName": n, "repoNamespace": namespace, "repoType": "PRIVATE", "repoStatus": "NORMAL"}
            for n in names[(page - 1) * size : page * size]
        ]
        return 200, {"repos": repos, "total": len(names), "page": page, "pageSize": size}

    def _p_repository(self, account: str, namespace: str, repo: str) -> str:
        with self._lock:
            self._p_namespace_of(account, namespace)
            if f"{namespace}/{repo}" not in self._repositories():
                raise _OpenApiError(
                    404, {"code": "REPO_NOT_EXIST", "message": "repo not exist", "requestId": _request_id()}
                )
        return f"{namespace}/{repo}"

    async def _p_repo(self, account: str, namespace: str, repo: str) -> tuple[int, dict[str, Any]]:
        self._p_repository(account, namespace, repo)
        return 200, {"repo": {"repoName": repo, "repoNamespace": namespace, "repoType": "PRIVATE"}}

    async def _p_tags(
        self, account: str, namespace: str, repo: str, request: web.Request
    ) -> tuple[int, dict[str, Any]]:
        page, size = _page(request.query, "Page", "PageSize")
        repository = self._p_repository(account, namespace, repo)
        images = await self._images(repository)
        tags = [
            {"tag": tag, "digest": digest, "imageSize": image_size, "status": "NORMAL"}
            for tag, digest, image_size in images[(page - 1) * size : page * size]
        ]
        return 200, {"tags": tags, "total": len(images), "page": page, "pageSize": size}

    async def _p_delete_tag(
        self, account: str, namespace: str, repo: str, tag: str
    ) -> tuple[int, dict[str, Any]]:
        repository = self._p_repository(account, namespace, repo)
        if not self._untag(repository, tag):
            return 404, {"code": "TAG_NOT_EXIST", "message": "tag not exist"}
        return 200, {}

    # enterprise edition (2018-12-01, RPC) --------------------------------------------------
    async def _enterprise(
        self, request: web.Request, body: bytes, account: str, action: str
    ) -> tuple[int, dict[str, Any]]:
        handlers: dict[str, Callable[[str, dict[str, str]], Awaitable[dict[str, Any]]]] = {
            "GetAuthorizationToken": self._e_token,
            "GetNamespace": self._e_namespace,
            "CreateNamespace": self._e_create_namespace,
            "ListNamespace": self._e_namespaces,
            "ListRepository": self._e_repositories,
            "GetRepository": self._e_repository,
            "ListRepoTag": self._e_tags,
            "DeleteRepoTag": self._e_delete_tag,
        }
        handler = handlers.get(action)
        if (
            request.path != "/"
            or request.method not in ("GET", "POST")
            or request.headers.get("x-acs-version") != ENTERPRISE_VERSION
            or handler is None
        ):
            raise _invalid_action(action)
        params = dict(request.query)
        if request.content_type == "application/x-www-form-urlencoded" and body:
            params.update(urllib.parse.parse_qsl(body.decode(errors="replace")))
        if params.get("InstanceId") != self.instance_id:
            raise _OpenApiError(
                404,
                {
                    "Code": "INSTANCE_NOT_EXIST",
                    "Message": f"instance {params.get('InstanceId')!r} does not exist",
                    "RequestId": _request_id(),
                },
            )
        answer = await handler(account, params)
        defaults = {"IsSuccess": True, "Code": "success", "RequestId": _request_id()}
        return 200, {**defaults, **answer}

    def _e_namespace_of(self, account: str, name: str) -> _Namespace:
        ns = self._state.namespaces.get(name)
        if ns is None or ns.owner != account:
            raise _e_failure("NAMESPACE_NOT_EXIST", f"namespace {name} does not exist")
        return ns

    def _e_repo_named(self, account: str, params: Mapping[str, str]) -> str:
        """The ``ns/repo`` named by ``RepoId`` or by ``RepoNamespaceName`` + ``RepoName``."""
        with self._lock:
            repositories = self._repositories()
            if "RepoId" in params:
                found = next((r for r in repositories if _repo_id(r) == params["RepoId"]), None)
                if found is None or self._state.namespaces[found.split("/", 1)[0]].owner != account:
                    raise _e_failure("REPO_NOT_EXIST", "repository does not exist")
                return found
            namespace, repo = params.get("RepoNamespaceName", ""), params.get("RepoName", "")
            self._e_namespace_of(account, namespace)
            if f"{namespace}/{repo}" not in repositories:
                raise _e_failure("REPO_NOT_EXIST", "repository does not exist")
            return f"{namespace}/{repo}"

    async def _e_token(self, account: str, params: dict[str, str]) -> dict[str, Any]:
        issued = self._temp_password(account)
        if issued is None:  # emulator's choice: the personal edition's code, in the RPC shape
            raise _e_failure("USER_NOT_EXIST", "user not exist")
        password, expires = issued
        return {"AuthorizationToken": password, "TempUsername": TEMP_USERNAME, "ExpireTime": expires}

    async def _e_namespace(self, account: str, params: dict[str, str]) -> dict[str, Any]:
        name = params.get("NamespaceName", "")
        with self._lock:
            ns = self._e_namespace_of(account, name)
        return {
            "NamespaceName": name,
            "NamespaceId": str(ns.namespace_id),
            "NamespaceStatus": "NORMAL",
            "AutoCreateRepo": ns.auto_create_repo,
            "DefaultRepoType": "PRIVATE",
            "InstanceId": self.instance_id,
        }

    async def _e_create_namespace(self, account: str, params: dict[str, str]) -> dict[str, Any]:
        name = params.get("NamespaceName", "")
        auto = params.get("AutoCreateRepo", "true").lower() != "false"
        with self._lock:
            error = self._namespace_refusal(account, name)
            if error is not None:
                raise _e_failure(*error)
            namespace_id = self._new_namespace(name, account, auto)
        return {"NamespaceId": str(namespace_id)}

    async def _e_namespaces(self, account: str, params: dict[str, str]) -> dict[str, Any]:
        page, size = _page(params, "PageNo", "PageSize")
        with self._lock:
            owned = sorted((n, ns) for n, ns in self._state.namespaces.items() if ns.owner == account)
        entries = [
            {
                "NamespaceName": n,
                "NamespaceId": str(ns.namespace_id),
                "AutoCreateRepo": ns.auto_create_repo,
                "DefaultRepoType": "PRIVATE",
                "NamespaceStatus": "NORMAL",
                "InstanceId": self.instance_id,
            }
            for n, ns in owned[(page - 1) * size : page * size]
        ]
        return {"Namespaces": entries, "TotalCount": str(len(owned)), "PageNo": page, "PageSize": size}

    async def _e_repositories(self, account: str, params: dict[str, str]) -> dict[str, Any]:
        page, size = _page(params, "PageNo", "PageSize")
        namespace = params.get("RepoNamespaceName")
        with self._lock:
            if namespace is not None:
                self._e_namespace_of(account, namespace)
            names = sorted(
                r
                for r in self._repositories()
                if self._state.namespaces[r.split("/", 1)[0]].owner == account
                and (namespace is None or r.split("/", 1)[0] == namespace)
            )
        entries = [_e_repo(r, self.instance_id) for r in names[(page - 1) * size : page * size]]
        return {"Repositories": entries, "TotalCount": str(len(names)), "PageNo": page, "PageSize": size}

    async def _e_repository(self, account: str, params: dict[str, str]) -> dict[str, Any]:
        return _e_repo(self._e_repo_named(account, params), self.instance_id)

    async def _e_tags(self, account: str, params: dict[str, str]) -> dict[str, Any]:
        page, size = _page(params, "PageNo", "PageSize")
        repository = self._e_repo_named(account, params)
        images = await self._images(repository)
        entries = [
            {"Tag": tag, "Digest": digest, "ImageSize": image_size, "Status": "NORMAL"}
            for tag, digest, image_size in images[(page - 1) * size : page * size]
        ]
        return {"Images": entries, "TotalCount": str(len(images)), "PageNo": page, "PageSize": size}

    async def _e_delete_tag(self, account: str, params: dict[str, str]) -> dict[str, Any]:
        repository = self._e_repo_named(account, params)
        if not self._untag(repository, params.get("Tag", "")):
            raise _e_failure("TAG_NOT_EXIST", "tag does not exist")
        return {}

    # shared by both editions ---------------------------------------------------------------
    def _temp_password(self, account: str) -> tuple[str, int] | None:
        """A temporary ``cr_temp_user`` password, or ``None`` for an account that never set its
        fixed password (never opened ACR)."""
        with self._lock:
            if self._state.accounts.get(account) is None:
                return None
            password = secrets.token_urlsafe(24)
            expires = time.time() + TOKEN_LIFETIME
            self._state.temp_passwords[password] = (account, expires)
        return password, int(expires * 1000)

    async def _images(self, repository: str) -> list[tuple[str, str, int]]:
        """``(tag, manifest digest, image size)`` per tag, read from the real registry."""
        assert self._session is not None
        base = f"{self.registry.url}/v2/{repository}"
        async with self._session.get(f"{base}/tags/list") as answer:
            if answer.status == 404:
                return []
            answer.raise_for_status()
            tags = sorted((await answer.json()).get("tags") or [])
        images = []
        for tag in tags:
            async with self._session.get(
                f"{base}/manifests/{tag}", headers={"Accept": MANIFEST_ACCEPT}
            ) as answer:
                if answer.status == 404:
                    continue  # deleted meanwhile
                answer.raise_for_status()
                document = json.loads(await answer.read())
                digest = answer.headers["Docker-Content-Digest"]
            blobs = [document.get("config") or {}, *(document.get("layers") or [])]
            images.append((tag, digest, sum(int(b.get("size", 0)) for b in blobs)))
        return images

    def _untag(self, repository: str, tag: str) -> bool:
        """Remove one tag, as distribution's own untag does: its directory in the storage.

        distribution's API cannot delete a tag (DELETE by digest removes every tag of it); tags
        are read from storage on each request, so the removal is visible at once.
        """
        if not _TAG.match(tag):
            return False
        tag_dir = (
            self.registry.storage_dir
            / "docker/registry/v2/repositories"
            / repository
            / "_manifests/tags"
            / tag
        )
        if not tag_dir.is_dir():
            return False
        shutil.rmtree(tag_dir)
        return True


def _invalid_action(action: str) -> _OpenApiError:
    return _OpenApiError(
        404,
        {
            "Code": "InvalidAction.NotFound",
            "Message": f"Specified api {action!r} is not found, please check your url and method.",
            "RequestId": _request_id(),
        },
    )


def _e_failure(code: str, message: str) -> _OpenApiError:
    """Enterprise business errors are HTTP 200 with ``IsSuccess: false``."""
    return _OpenApiError(
        200, {"IsSuccess": False, "Code": code, "Message": message, "RequestId": _request_id()}
    )


def _repo_id(repository: str) -> str:
    return "crr-" + hashlib.sha256(repository.encode()).hexdigest()[:16]


def _e_repo(repository: str, instance_id: str) -> dict[str, Any]:
    namespace, name = repository.split("/", 1)
    return {
        "RepoId": _repo_id(repository),
        "RepoName": name,
        "RepoNamespaceName": namespace,
        "RepoType": "PRIVATE",
        "RepoStatus": "NORMAL",
        "InstanceId": instance_id,
    }
