"""A Docker Hub **emulator**: Hub's registry auth and pull rate limit plus the Hub API's listing
endpoints, on one port in front of a real ``docker-registry``.

Why: replication tools meet Docker Hub's quirks — the anonymous token flow, push only into your
own namespace, a pull quota spent by manifest GETs (and not by HEADs) that ends in 429
``TOOMANYREQUESTS``, and a separate paginated API to list repositories and tags — and none of
that can be reached offline. Behaviour reproduced:

* ``/v2/`` — every request needs a bearer token: 401 with
  ``Bearer realm="<url>/token",service="registry.docker.io"`` (plus the needed ``scope``), and
  ``error="insufficient_scope"`` with ``UNAUTHORIZED "authentication required"`` when the token
  lacks the action. ``_catalog`` is never granted.
* ``/token`` — anonymous: ``pull`` on repositories that exist; Basic with the user's
  credentials: ``pull`` and ``push`` in ``<username>/…`` (existing or not) and ``pull`` on
  other existing repositories; wrong credentials → 401. Pulling a repository that does not
  exist is therefore refused with 401, like Hub's "pull access denied".
* Rate limit — each ``GET /v2/<name>/manifests/<ref>`` spends one pull from a single quota;
  ``HEAD`` spends none. Manifest GET and HEAD answers carry ``ratelimit-limit: <limit>;w=<window>``,
  ``ratelimit-remaining: <left>;w=<window>`` and ``docker-ratelimit-source``; a GET with no pull
  left gets 429 ``TOOMANYREQUESTS`` (recorded in :attr:`HubEmulator.throttled`).
* Hub API (no auth needed; Basic, ``Bearer <token>`` or ``JWT <token>`` from
  ``POST /v2/users/login`` accepted): ``/v2/repositories/<ns>/``, ``/v2/repositories/<ns>/<repo>/``,
  tags under ``/v2/namespaces/<ns>/repositories/<repo>/tags`` and ``/v2/repositories/<ns>/<repo>/tags``
  (one tag: ``…/tags/<tag>``), paginated like Hub (``page``, ``page_size`` default 10, at most 100;
  absolute ``next``/``previous`` URLs). Listing spends no pulls. Repositories are the registry's
  two-level names ``<ns>/<repo>``; tags sort newest first (``ordering=name`` and
  ``ordering=-name``/``last_updated`` too).

Test-only emulator code: never import ``ferry``.
"""

from __future__ import annotations

import secrets
import urllib.parse
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.support.registry_front import (
    Access,
    Call,
    RegistryFront,
    RepositoryView,
    TokenIssuer,
    basic_credentials,
    bearer_token,
    challenge,
    iso_time,
    json_response,
    parse_scopes,
    registry_error,
    repository_request,
    scope_actions,
)

SERVICE = "registry.docker.io"
_NOT_FOUND = {"message": "object not found", "errinfo": {}}
_BAD_CREDENTIALS = {"detail": "Incorrect authentication credentials"}


class HubEmulator(RegistryFront):
    """Docker Hub (registry + Hub API) on ``127.0.0.1:<free port>``; see the module docstring."""

    thread_name = "hub-emulator"

    def __init__(
        self,
        workdir: Path,
        *,
        pull_limit: int = 100,
        window_seconds: int = 21600,
        username: str = "hubuser",
        password: str | None = None,
    ) -> None:
        super().__init__(workdir)
        self.username = username
        self.password = password if password is not None else secrets.token_urlsafe(12)
        self.pull_limit, self.window_seconds = pull_limit, window_seconds
        self._pulls_left = pull_limit
        self._tokens = TokenIssuer(issuer="auth.docker.io", service=SERVICE, lifetime=300)
        self._logins = TokenIssuer(issuer="hub.docker.com", service="hub-api", lifetime=2592000)
        self._requests: list[Call] = []
        self._throttled: list[Call] = []
        self._ids: dict[str, int] = {}

    @property
    def pulls_left(self) -> int:
        with self._lock:
            return self._pulls_left

    def set_pulls_left(self, count: int) -> None:
        with self._lock:
            self._pulls_left = max(0, count)

    @property
    def requests(self) -> list[Call]:
        """Every request answered so far (registry, token and Hub API)."""
        with self._lock:
            return list(self._requests)

    @property
    def throttled(self) -> list[Call]:
        """The manifest GETs answered 429 for want of pulls."""
        with self._lock:
            return list(self._throttled)

    def note(self, request: web.Request, status: int) -> None:
        call = (request.method, request.rel_url.raw_path, status)
        with self._lock:
            self._requests.append(call)
            if status == 429:
                self._throttled.append(call)

    def _id(self, key: str) -> int:
        with self._lock:
            return self._ids.setdefault(key, len(self._ids) + 1)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path == "/token":
            return await self._token(request)
        target = repository_request(request.method, path, request.query)
        if path in ("/v2", "/v2/") or path.startswith("/v2/_catalog") or target is not None:
            return await self._registry_request(request)
        if path.startswith("/v2/"):
            return await self._api(request)
        return json_response(_NOT_FOUND, status=404)

    # -- registry ----------------------------------------------------------------------------------
    def _denied(self, scopes: list[str], detail: Any, *, insufficient: bool) -> web.Response:
        value = challenge(
            f"{self.url}/token",
            SERVICE,
            scope=" ".join(scopes),
            error="insufficient_scope" if insufficient else "",
        )
        return registry_error(
            401, "UNAUTHORIZED", "authentication required", detail=detail, headers={"WWW-Authenticate": value}
        )

    async def _registry_request(self, request: web.Request) -> web.StreamResponse:
        token = bearer_token(request.headers.get("Authorization", ""))
        claims = self._tokens.verify(token) if token else None
        path = request.path
        if path in ("/v2", "/v2/"):
            if claims is None:
                return self._denied([], None, insufficient=False)
            return await self.forward(request)
        target = repository_request(request.method, path, request.query)
        if target is None:  # _catalog: Hub never grants it
            scope = "registry:catalog:*"
            return self._denied([scope], None, insufficient=claims is not None)
        scopes = [f"repository:{name}:{scope_actions(action)}" for name, action in target.needs]
        detail = [{"Type": "repository", "Name": n, "Action": a} for n, a in target.needs]
        if claims is None:
            return self._denied(scopes, detail, insufficient=False)
        if not all(claims.allows("repository", name, action) for name, action in target.needs):
            return self._denied(scopes, detail, insufficient=True)
        if target.kind != "manifests" or request.method not in ("GET", "HEAD"):
            return await self.forward(request)
        with self._lock:
            exhausted = request.method == "GET" and self._pulls_left == 0
            if request.method == "GET" and not exhausted:
                self._pulls_left -= 1
            left = self._pulls_left
        headers = {
            "ratelimit-limit": f"{self.pull_limit};w={self.window_seconds}",
            "ratelimit-remaining": f"{left};w={self.window_seconds}",
            "docker-ratelimit-source": request.remote or "127.0.0.1",
        }
        if exhausted:
            message = (
                "You have reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit"
                if not claims.subject
                else f"You have reached your pull rate limit as '{claims.subject}'. "
                "You may increase the limit by upgrading. https://www.docker.com/increase-rate-limit"
            )
            return registry_error(429, "TOOMANYREQUESTS", message, headers=headers)
        return await self.forward(request, headers=headers)

    async def _token(self, request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization", "")
        subject = ""
        if authorization:
            if basic_credentials(authorization) != (self.username, self.password):
                body = {
                    "details": "incorrect username or password",
                    "errors": [{"code": "UNAUTHORIZED", "message": "incorrect username or password"}],
                }
                return json_response(body, status=401)
            subject = self.username
        existing = set(await self.catalog())
        granted: list[Access] = []
        for scope in parse_scopes(request.query.getall("scope", [])):
            if scope.type != "repository":
                continue
            own = bool(subject) and scope.name.split("/")[0] == subject
            allowed = {"pull", "push"} if own else {"pull"} if scope.name in existing else set()
            granted.append(Access(scope.type, scope.name, tuple(a for a in scope.actions if a in allowed)))
        return json_response(self._tokens.issue(subject, granted))

    # -- Hub API -----------------------------------------------------------------------------------
    def _wrong_credentials(self, request: web.Request) -> bool:
        """An ``Authorization`` the Hub API refuses (none at all is fine: listings are public)."""
        authorization = request.headers.get("Authorization", "")
        if not authorization:
            return False
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "basic":
            return basic_credentials(authorization) != (self.username, self.password)
        if scheme.lower() in ("bearer", "jwt"):
            return self._logins.verify(value.strip()) is None
        return True

    async def _api(self, request: web.Request) -> web.StreamResponse:
        parts = request.path[len("/v2/") :].rstrip("/").split("/")
        method = request.method
        if parts == ["users", "login"] and method == "POST":
            return await self._login(request, "username", "password", "token")
        if parts == ["auth", "token"] and method == "POST":
            return await self._login(request, "identifier", "secret", "access_token")
        if self._wrong_credentials(request):
            return json_response(_BAD_CREDENTIALS, status=401)
        if method != "GET":
            return json_response({"detail": f'Method "{method}" not allowed.'}, status=405)
        match parts:
            case ["repositories", namespace]:
                return await self._list_repositories(request, namespace)
            case ["repositories", namespace, repo]:
                view = await self._find_view(namespace, repo)
                if view is None:
                    return json_response(_NOT_FOUND, status=404)
                return json_response(self._repository_json(view))
            case ["repositories", namespace, repo, "tags"] | [
                "namespaces",
                namespace,
                "repositories",
                repo,
                "tags",
            ]:
                return await self._list_tags(request, namespace, repo)
            case ["repositories", namespace, repo, "tags", tag] | [
                "namespaces",
                namespace,
                "repositories",
                repo,
                "tags",
                tag,
            ]:
                view = await self._find_view(namespace, repo)
                if view is None or tag not in view.tags:
                    return json_response(_NOT_FOUND, status=404)
                return json_response(await self._tag_json(view, tag))
        return json_response(_NOT_FOUND, status=404)

    async def _login(
        self, request: web.Request, user_key: str, secret_key: str, answer_key: str
    ) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or (body.get(user_key), body.get(secret_key)) != (
            self.username,
            self.password,
        ):
            return json_response(_BAD_CREDENTIALS, status=401)
        token = self._logins.issue(self.username, [])["token"]
        return json_response({answer_key: token})

    async def _find_view(self, namespace: str, repo: str) -> RepositoryView | None:
        name = f"{namespace}/{repo}"
        return await self.view(name) if name in await self.catalog() else None

    def _paged(self, request: web.Request, items: list[Any]) -> web.Response:
        try:
            page = int(request.query.get("page", "1"))
            size = min(int(request.query.get("page_size", "10")), 100)
        except ValueError:
            return json_response({"detail": "Invalid page."}, status=404)
        if page < 1 or size < 1 or (page > 1 and (page - 1) * size >= len(items)):
            return json_response({"detail": "Invalid page."}, status=404)
        return json_response(
            {
                "count": len(items),
                "next": self._page_url(request, page + 1, size) if page * size < len(items) else None,
                "previous": self._page_url(request, page - 1, size) if page > 1 else None,
                "results": items[(page - 1) * size : page * size],
            }
        )

    def _page_url(self, request: web.Request, page: int, size: int) -> str:
        query = [(k, v) for k, v in request.query.items() if k not in ("page", "page_size")]
        query += [("page", str(page)), ("page_size", str(size))]
        return f"{self.url}{request.rel_url.raw_path}?{urllib.parse.urlencode(query)}"

    async def _list_repositories(self, request: web.Request, namespace: str) -> web.Response:
        names = [n for n in await self.catalog() if n.count("/") == 1 and n.split("/")[0] == namespace]
        if not names and namespace != self.username:
            return json_response(_NOT_FOUND, status=404)
        views = [await self.view(name) for name in names]
        ordering = request.query.get("ordering", "name")
        if ordering.lstrip("-") == "last_updated":
            views.sort(key=lambda v: (v.last_updated, v.name), reverse=ordering.startswith("-"))
        else:
            views.sort(key=lambda v: v.name, reverse=ordering.startswith("-"))
        return self._paged(request, [self._repository_json(v) for v in views])

    def _repository_json(self, view: RepositoryView) -> dict[str, Any]:
        namespace, name = view.name.split("/", 1)
        updated = iso_time(view.last_updated)
        return {
            "user": namespace,
            "name": name,
            "namespace": namespace,
            "repository_type": "image",
            "status": 1,
            "status_description": "active",
            "description": "",
            "is_private": False,
            "star_count": 0,
            "pull_count": 0,
            "last_updated": updated,
            "date_registered": iso_time(min(view.pushed.values(), default=0.0)),
            "affiliation": "",
            "media_types": sorted({m.media_type for m in view.manifests.values()}),
            "content_types": ["image"],
        }

    async def _list_tags(self, request: web.Request, namespace: str, repo: str) -> web.Response:
        view = await self._find_view(namespace, repo)
        if view is None:
            return json_response(_NOT_FOUND, status=404)
        ordering = request.query.get("ordering", "-last_updated")
        tags = list(view.tags)
        if ordering.lstrip("-") == "name":
            tags.sort(reverse=ordering.startswith("-"))
        else:
            tags.sort(key=lambda t: (view.tag_pushed.get(t, 0.0), t), reverse=ordering.startswith("-"))
        return self._paged(request, [await self._tag_json(view, tag) for tag in tags])

    async def _tag_json(self, view: RepositoryView, tag: str) -> dict[str, Any]:
        digest = view.tags[tag]
        manifest = view.manifests.get(digest)
        pushed = iso_time(view.tag_pushed.get(tag, 0.0))
        images: list[dict[str, Any]] = []
        if manifest is not None and manifest.is_index:
            for child in manifest.children:
                platform = child.get("platform") or {}
                images.append(
                    _image_json(child["digest"], platform, _layers_size(view, child["digest"]), pushed)
                )
        elif manifest is not None:
            config = manifest.config or {}
            document = await self.find_json_blob(view.name, config["digest"]) if "digest" in config else None
            platform = document if isinstance(document, dict) else {}
            images.append(_image_json(digest, platform, _layers_size(view, digest), pushed))
        return {
            "creator": 1,
            "id": self._id(f"{view.name}:{tag}"),
            "images": images,
            "last_updated": pushed,
            "last_updater": 1,
            "last_updater_username": view.name.split("/")[0],
            "name": tag,
            "repository": self._id(view.name),
            "full_size": sum(image["size"] for image in images),
            "v2": True,
            "tag_status": "active",
            "tag_last_pulled": None,
            "tag_last_pushed": pushed,
            "media_type": manifest.media_type if manifest else None,
            "content_type": "image",
            "digest": digest,
        }


def _layers_size(view: RepositoryView, digest: str) -> int:
    manifest = view.manifests.get(digest)
    return sum(int(layer.get("size", 0)) for layer in manifest.layers) if manifest else 0


def _image_json(digest: str, platform: dict[str, Any], size: int, pushed: str) -> dict[str, Any]:
    return {
        "architecture": platform.get("architecture", "unknown"),
        "features": "",
        "variant": platform.get("variant"),
        "digest": digest,
        "os": platform.get("os", "unknown"),
        "os_features": "",
        "os_version": platform.get("os.version"),
        "size": size,
        "status": "active",
        "last_pulled": None,
        "last_pushed": pushed,
    }
