"""A Harbor v2 **emulator**: Harbor's registry auth and the part of its REST API a replication
tool uses, in front of a real ``docker-registry``.

Why: ferry replicates from and to Harbor, and no Harbor runs offline. What a replication tool
meets there is reproduced from Harbor's source (``server/middleware/v2auth``,
``core/service/token``, ``pkg/artifact/dao``) and swagger, on one port:

* ``/v2/`` — Harbor's checks, in Harbor's order: ``GET /v2/`` needs an authenticated caller
  (401 ``Bearer realm="<url>/service/token",service="harbor-registry"``); ``_catalog`` needs
  the admin; a repository request sent as ``HEAD`` without ``Authorization`` is challenged
  first, then the project (the first path component) must exist — else **404**
  ``{"errors":[{"code":"NOT_FOUND","message":"project <p> not found"}]}``, which is what a push
  into a missing destination project gets — then the caller needs the action (pull: GET/HEAD,
  push: uploads and manifest PUT, delete: DELETE; a mount needs pull on ``from``). Callers:
  Basic with the admin's credentials (Harbor accepts it on ``/v2/`` too), a bearer token from
  ``/service/token``, or anonymous, who may pull from public projects (even with no token).
  Wrong credentials make an anonymous caller, as in Harbor. The challenge is Bearer with the
  needed scope when no ``Authorization`` was sent, else ``Basic realm="harbor"`` (Harbor's
  rule). Everything allowed is forwarded, streamed, to the real registry.
* ``/service/token`` — the admin's token grants ``pull, push, delete, *`` on every repository
  of an existing project (whatever was asked), anonymous gets ``pull`` on public projects,
  nobody gets anything in a missing project; anonymous without a scope → 401.
* ``/api/v2.0/`` — ping, systeminfo, users/current, labels, projects (HEAD, list, get, create,
  delete), repositories, artifacts (list with ``with_tag``/``with_label``/``q=tags=nil|*``, get,
  delete deeply), an artifact's tags (list, add, delete) and labels (add, remove); Basic auth,
  anonymous GETs on public projects; lists paginate Harbor's way (``page``, ``page_size``
  default 10, above 100 → 422; ``X-Total-Count``; ``Link: <path?page=2&page_size=N>;
  rel="next"``). A repository name with ``/`` is URL-encoded twice in paths (``a%252Fb``).
  Artifacts are what the registry holds: every manifest, untagged ones too, except those only
  an index of the same repository refers to (Harbor lists those under the index's
  ``references``). ``media_type`` is the config's media type (the manifest's for an index),
  ``manifest_media_type`` the manifest's, as in Harbor.
* ``X-Request-Id`` on every answer.

Test-only emulator code: never import ``ferry``.
"""

from __future__ import annotations

import re
import secrets
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.support.registry_front import (
    Access,
    Call,
    RegistryFront,
    RepositoryView,
    StoredManifest,
    TokenClaims,
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

SERVICE = "harbor-registry"
VERSION = "v2.11.0-emulator"
ZERO_TIME = "0001-01-01T00:00:00.000Z"
_PROJECT_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_IMAGE_CONFIGS = {
    "application/vnd.docker.container.image.v1+json",
    "application/vnd.oci.image.config.v1+json",
}
_CHART_CONFIG = "application/vnd.cncf.helm.config.v1+json"


@dataclass
class _Project:
    id: int
    name: str
    public: bool
    created: float


@dataclass(frozen=True)
class _Label:
    id: int
    name: str
    created: float


@dataclass(frozen=True)
class _Caller:
    """Harbor's security context: the admin (Basic), a bearer token's grants, or anonymous."""

    admin: bool = False
    token: TokenClaims | None = None
    sent_authorization: bool = False

    @property
    def authenticated(self) -> bool:
        return self.admin or bool(self.token and self.token.subject)


def api_error(status: int, code: str, message: str) -> web.Response:
    return json_response({"errors": [{"code": code, "message": message}]}, status=status)


def _unauthorized() -> web.Response:
    return api_error(401, "UNAUTHORIZED", "unauthorized")


class HarborEmulator(RegistryFront):
    """Harbor (registry auth + REST API) on ``127.0.0.1:<free port>``; see the module docstring."""

    thread_name = "harbor-emulator"

    def __init__(self, workdir: Path, *, username: str = "admin", password: str | None = None) -> None:
        super().__init__(workdir)
        self.username = username
        self.password = password if password is not None else secrets.token_urlsafe(12)
        self._tokens = TokenIssuer(issuer="harbor-token-issuer", service=SERVICE, lifetime=1800)
        self._projects: dict[str, _Project] = {}
        self._labels: dict[str, _Label] = {}
        self._artifact_labels: dict[tuple[str, str], list[int]] = {}
        self._ids: dict[tuple[str, ...], int] = {}
        self._api_calls: list[Call] = []
        self._requests: list[Call] = []
        self._token_requests: list[Call] = []

    # -- test-side API -----------------------------------------------------------------------------
    @property
    def projects(self) -> dict[str, int]:
        with self._lock:
            return {name: p.id for name, p in self._projects.items()}

    def add_project(self, name: str, *, public: bool = False) -> int:
        """Create a project as the admin would (no HTTP); returns its id."""
        if not _valid_project_name(name):
            raise ValueError(f"invalid Harbor project name: {name!r}")
        with self._lock:
            if name in self._projects:
                raise ValueError(f"project {name} already exists")
            project = _Project(self._next_id("project", name), name, public, time.time())
            self._projects[name] = project
            return project.id

    def add_label(self, name: str) -> int:
        """A global label (scope ``g``); returns its id."""
        with self._lock:
            if name not in self._labels:
                self._labels[name] = _Label(self._next_id("label", name), name, time.time())
            return self._labels[name].id

    def label_artifact(self, repository: str, digest: str, label: str) -> None:
        """Attach a global label (made with :meth:`add_label`) to ``repository@digest``."""
        with self._lock:
            label_id = self._labels[label].id
            attached = self._artifact_labels.setdefault((repository, digest), [])
            if label_id not in attached:
                attached.append(label_id)

    @property
    def api_calls(self) -> list[Call]:
        """``/api/v2.0`` (and unknown paths) answered so far."""
        with self._lock:
            return list(self._api_calls)

    @property
    def requests(self) -> list[Call]:
        """``/v2/`` requests answered so far."""
        with self._lock:
            return list(self._requests)

    @property
    def token_requests(self) -> list[Call]:
        """``/service/token`` requests answered so far."""
        with self._lock:
            return list(self._token_requests)

    def _next_id(self, kind: str, *key: str) -> int:
        """A stable id per ``(kind, key)``, counting up per kind (caller holds the lock)."""
        if (kind, *key) not in self._ids:
            self._ids[(kind, *key)] = 1 + sum(1 for k in self._ids if k[0] == kind)
        return self._ids[(kind, *key)]

    def _id(self, kind: str, *key: str) -> int:
        with self._lock:
            return self._next_id(kind, *key)

    # -- dispatch ----------------------------------------------------------------------------------
    def note(self, request: web.Request, status: int) -> None:
        path = request.rel_url.raw_path
        calls = (
            self._requests
            if path == "/v2" or path.startswith("/v2/")
            else self._token_requests
            if path == "/service/token"
            else self._api_calls
        )
        with self._lock:
            calls.append((request.method, path, status))

    def decorate(self, request: web.Request, response: web.StreamResponse) -> None:
        response.headers.setdefault("X-Request-Id", str(uuid.uuid4()))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path == "/v2" or path.startswith("/v2/"):
            return await self._registry_request(request)
        if path == "/service/token":
            return self._token(request)
        if path.startswith("/api/v2.0/"):
            return await self._api(request)
        return api_error(404, "NOT_FOUND", f"path {path} was not found")

    def _caller(self, request: web.Request) -> _Caller:
        authorization = request.headers.get("Authorization", "")
        if not authorization:
            return _Caller()
        if basic_credentials(authorization) == (self.username, self.password):
            return _Caller(admin=True, sent_authorization=True)
        token = bearer_token(authorization)
        claims = self._tokens.verify(token) if token else None
        return _Caller(token=claims, sent_authorization=True)

    def _project_exists(self, name: str) -> bool:
        with self._lock:
            return name in self._projects

    def _is_public(self, name: str) -> bool:
        with self._lock:
            project = self._projects.get(name)
            return project is not None and project.public

    def _can(self, caller: _Caller, repository: str, action: str) -> bool:
        if caller.admin:
            return True
        if caller.token is not None:
            return caller.token.allows("repository", repository, action)
        return action == "pull" and self._is_public(repository.split("/")[0])

    # -- /v2/ --------------------------------------------------------------------------------------
    def _challenge(self, request: web.Request, scopes: list[str], message: str) -> web.Response:
        realm = f"{self.url}/service/token"
        if request.headers.get("Authorization") or request.path.startswith("/v2/_catalog"):
            value = 'Basic realm="harbor"'
        else:
            value = challenge(realm, SERVICE, scope=" ".join(scopes))
        return registry_error(401, "UNAUTHORIZED", message, headers={"WWW-Authenticate": value})

    async def _registry_request(self, request: web.Request) -> web.StreamResponse:
        caller, path = self._caller(request), request.path
        if path in ("/v2", "/v2/"):
            if not caller.authenticated:
                return self._challenge(request, [], "unauthorized")
            return await self.forward(request)
        if path.startswith("/v2/_catalog"):
            allowed = caller.admin or bool(caller.token and caller.token.allows("registry", "catalog", "*"))
            if not allowed:
                return self._challenge(request, [], "unauthorized to list catalog")
            return await self.forward(request)
        target = repository_request(request.method, path, request.query)
        if target is None:
            return await self.forward(request)
        scopes = [f"repository:{name}:{scope_actions(action)}" for name, action in target.needs]
        if request.method == "HEAD" and not caller.sent_authorization:
            return self._challenge(request, scopes, "authorize header needed to send HEAD to repository")
        for name, action in target.needs:
            project = name.split("/")[0]
            if not self._project_exists(project):
                return registry_error(404, "NOT_FOUND", f"project {project} not found")
            if not self._can(caller, name, action):
                message = f"unauthorized to access repository: {name}, action: {action}"
                return self._challenge(request, scopes, message)
        return await self.forward(request)

    def _token(self, request: web.Request) -> web.Response:
        service = request.query.get("service", "")
        if service != SERVICE:
            return web.Response(status=400, text=f"Unable to handle service: {service}")
        credentials = basic_credentials(request.headers.get("Authorization", ""))
        admin = credentials == (self.username, self.password)
        scopes = parse_scopes(request.query.getall("scope", []))
        if not admin and not scopes:
            return api_error(401, "UNAUTHORIZED", "Unauthorized")
        granted: list[Access] = []
        for scope in scopes:
            if scope.type == "repository":
                project = scope.name.split("/")[0]
                if not self._project_exists(project):
                    allowed: tuple[str, ...] = ()
                elif admin:  # Harbor grants all the caller may do, whatever was asked
                    allowed = ("pull", "push", "delete", "*")
                else:
                    allowed = ("pull",) if self._is_public(project) else ()
                granted.append(Access(scope.type, scope.name, allowed))
            elif scope.type == "registry" and scope.name == "catalog":
                granted.append(Access(scope.type, scope.name, scope.actions if admin else ()))
        return json_response(self._tokens.issue(self.username if admin else "", granted))

    # -- /api/v2.0/ --------------------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.StreamResponse:
        admin = basic_credentials(request.headers.get("Authorization", "")) == (self.username, self.password)
        # Go's router matches the decoded path; a repository name inside it is encoded once more.
        parts = urllib.parse.unquote(request.rel_url.raw_path)[len("/api/v2.0/") :].rstrip("/").split("/")
        method = request.method
        match parts:
            case ["ping"] if method == "GET":
                return web.Response(text="Pong")
            case ["systeminfo"] if method == "GET":
                return json_response(self._systeminfo())
            case ["users", "current"] if method == "GET":
                if not admin:
                    return _unauthorized()
                return json_response({"user_id": 1, "username": self.username, "sysadmin_flag": True})
            case ["labels"] if method == "GET":
                return self._list_labels(request)
            case ["projects"] if method == "HEAD":
                exists = self._project_exists(request.query.get("project_name", ""))
                return web.Response(status=200 if exists else 404)
            case ["projects"] if method == "GET":
                return await self._list_projects(request, admin)
            case ["projects"] if method == "POST":
                return await self._create_project(request, admin)
            case ["projects", ref, *rest]:
                project = self._find_project(ref, request)
                if project is None:
                    return api_error(404, "NOT_FOUND", f"project {ref} not found")
                writing = method not in ("GET", "HEAD")
                if not admin and (writing or not project.public):
                    return _unauthorized()
                return await self._project_api(request, project, rest)
        return api_error(404, "NOT_FOUND", f"path {request.path} was not found")

    async def _project_api(
        self, request: web.Request, project: _Project, rest: list[str]
    ) -> web.StreamResponse:
        method = request.method
        match rest:
            case [] if method in ("GET", "HEAD"):
                return json_response(await self._project_json(project))
            case [] if method == "DELETE":
                if await self._repositories(project.name):
                    return api_error(
                        412, "PRECONDITION", "the project contains repositories, can not be deleted"
                    )
                with self._lock:
                    self._projects.pop(project.name, None)
                return web.Response(status=200)
            case ["repositories"] if method == "GET":
                names = await self._repositories(project.name)
                names = [n for n in names if _q_matches(request, n.split("/", 1)[1], "name")]
                items = [await self._repository_json(project, name) for name in names]
                return self._paged(request, items)
            case ["repositories", repo, *more]:
                name = f"{project.name}/{urllib.parse.unquote(repo)}"
                if name not in await self._repositories(project.name):
                    return api_error(404, "NOT_FOUND", f"repository {name} not found")
                if not more and method == "GET":
                    return json_response(await self._repository_json(project, name))
                if more and more[0] == "artifacts":
                    return await self._artifact_api(request, project, name, more[1:])
        return api_error(404, "NOT_FOUND", f"path {request.path} was not found")

    def _systeminfo(self) -> dict[str, Any]:
        return {
            "harbor_version": VERSION,
            "auth_mode": "db_auth",
            "primary_auth_mode": False,
            "project_creation_restriction": "everyone",
            "self_registration": False,
            "has_ca_root": False,
            "read_only": False,
            "registry_url": self.host,
            "external_url": self.url,
            "with_chartmuseum": False,
            "notification_enable": True,
        }

    # -- pagination --------------------------------------------------------------------------------
    def _paged(self, request: web.Request, items: list[Any]) -> web.Response:
        try:
            page = int(request.query.get("page", "1"))
            size = int(request.query.get("page_size", "10"))
        except ValueError:
            return api_error(400, "BAD_REQUEST", "page and page_size must be integers")
        if page < 1 or size < 1 or size > 100:
            message = "validation failure list:\npage_size in query should be less than or equal to 100"
            if page < 1 or size < 1:
                message = "validation failure list:\npage and page_size in query should be greater than 0"
            return api_error(422, "UNPROCESSABLE_ENTITY", message)
        chunk = items[(page - 1) * size : page * size]
        links = []
        if page > 1:
            links.append(f'<{self._page_url(request, page - 1, size)}>; rel="prev"')
        if page * size < len(items):
            links.append(f'<{self._page_url(request, page + 1, size)}>; rel="next"')
        headers = {"X-Total-Count": str(len(items))}
        if links:
            headers["Link"] = " , ".join(links)
        return json_response(chunk, headers=headers)

    @staticmethod
    def _page_url(request: web.Request, page: int, size: int) -> str:
        query = [(k, v) for k, v in request.query.items() if k not in ("page", "page_size")]
        query += [("page", str(page)), ("page_size", str(size))]
        return f"{request.rel_url.raw_path}?{urllib.parse.urlencode(query)}"

    # -- projects ----------------------------------------------------------------------------------
    def _find_project(self, ref: str, request: web.Request) -> _Project | None:
        with self._lock:
            if ref.isdigit() and request.headers.get("X-Is-Resource-Name", "").lower() != "true":
                return next((p for p in self._projects.values() if p.id == int(ref)), None)
            return self._projects.get(ref)

    async def _list_projects(self, request: web.Request, admin: bool) -> web.Response:
        with self._lock:
            projects = sorted(self._projects.values(), key=lambda p: p.name)
        name = request.query.get("name")
        public = request.query.get("public")
        chosen = [
            p
            for p in projects
            if (admin or p.public)
            and (name is None or name in p.name)
            and (public is None or p.public == (public.lower() == "true"))
            and _q_matches(request, p.name, "name")
        ]
        return self._paged(request, [await self._project_json(p) for p in chosen])

    async def _project_json(self, project: _Project) -> dict[str, Any]:
        return {
            "project_id": project.id,
            "name": project.name,
            "owner_id": 1,
            "owner_name": self.username,
            "creation_time": iso_time(project.created),
            "update_time": iso_time(project.created),
            "deleted": False,
            "repo_count": len(await self._repositories(project.name)),
            "metadata": {"public": "true" if project.public else "false"},
            "registry_id": None,
        }

    async def _create_project(self, request: web.Request, admin: bool) -> web.Response:
        if not admin:
            return _unauthorized()
        try:
            body = await request.json()
        except ValueError:
            return api_error(400, "BAD_REQUEST", "invalid JSON body")
        name = body.get("project_name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not _valid_project_name(name):
            return api_error(
                400,
                "BAD_REQUEST",
                f"project name is not in lower case or contains illegal characters: {name!r}",
            )
        metadata = body.get("metadata") or {}
        public_value = metadata.get("public", body.get("public", False))
        public = public_value is True or str(public_value).lower() == "true"
        with self._lock:
            if name in self._projects:
                return api_error(409, "CONFLICT", f"The project named {name} already exists")
            project = _Project(self._next_id("project", name), name, public, time.time())
            self._projects[name] = project
        return web.Response(status=201, headers={"Location": f"/api/v2.0/projects/{project.id}"})

    # -- repositories ------------------------------------------------------------------------------
    async def _repositories(self, project: str) -> list[str]:
        return [name for name in await self.catalog() if name.startswith(f"{project}/")]

    async def _repository_json(self, project: _Project, name: str) -> dict[str, Any]:
        view = await self.view(name)
        created = min(view.pushed.values(), default=0.0)
        return {
            "id": self._id("repository", name),
            "name": name,
            "project_id": project.id,
            "description": "",
            "artifact_count": len(view.top_level()),
            "pull_count": 0,
            "creation_time": iso_time(created),
            "update_time": iso_time(view.last_updated),
        }

    # -- artifacts ---------------------------------------------------------------------------------
    async def _artifact_api(
        self, request: web.Request, project: _Project, name: str, rest: list[str]
    ) -> web.StreamResponse:
        method, view = request.method, await self.view(name)
        with_tag = request.query.get("with_tag", "true").lower() != "false"
        with_label = request.query.get("with_label", "false").lower() == "true"
        if not rest and method == "GET":
            digests = view.top_level()
            tags_filter = _q_value(request, "tags")
            if tags_filter == "nil":
                digests = [d for d in digests if not view.tags_of(d)]
            elif tags_filter == "*":
                digests = [d for d in digests if view.tags_of(d)]
            items = [await self._artifact_json(project, view, d, with_tag, with_label) for d in digests]
            return self._paged(request, items)
        if not rest:
            return api_error(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed")
        reference = rest[0]
        digest = reference if ":" in reference else view.tags.get(reference)
        if digest is None or digest not in view.manifests:
            separator = "@" if ":" in reference else ":"
            return api_error(404, "NOT_FOUND", f"artifact {name}{separator}{reference} not found")
        match rest[1:], method:
            case [], "GET":
                return json_response(await self._artifact_json(project, view, digest, with_tag, with_label))
            case [], "DELETE":
                if digest in view.referenced():
                    return api_error(412, "PRECONDITION", "the deleting artifact is referenced by others")
                await self._delete_deeply(view, digest, dict(view.manifests))
                return web.Response(status=200)
            case ["tags"], "GET":
                items = [self._tag_json(view, digest, t) for t in view.tags_of(digest)]
                return self._paged(request, items)
            case ["tags"], "POST":
                return await self._add_tag(request, view, digest)
            case ["tags", tag], "DELETE":
                if view.tags.get(tag) != digest or not self.delete_tag(name, tag):
                    return api_error(404, "NOT_FOUND", f"tag {tag} not found")
                return web.Response(status=200)
            case ["labels"], "POST":
                return await self._add_label(request, name, digest)
            case ["labels", label_id], "DELETE":
                with self._lock:
                    attached = self._artifact_labels.get((name, digest), [])
                    if not label_id.isdigit() or int(label_id) not in attached:
                        return api_error(404, "NOT_FOUND", f"label {label_id} not found on the artifact")
                    attached.remove(int(label_id))
                return web.Response(status=200)
        return api_error(404, "NOT_FOUND", f"path {request.path} was not found")

    async def _delete_deeply(
        self, view: RepositoryView, digest: str, left: dict[str, StoredManifest]
    ) -> None:
        """Delete a manifest, then each child that is now untagged and referenced by nothing else."""
        manifest = left.pop(digest)
        await self.delete_manifest(view.name, digest)
        with self._lock:
            self._artifact_labels.pop((view.name, digest), None)
        still_referenced = {c["digest"] for m in left.values() for c in m.children}
        for child in manifest.children:
            child_digest = child.get("digest", "")
            if (
                child_digest in left
                and child_digest not in still_referenced
                and not view.tags_of(child_digest)
            ):
                await self._delete_deeply(view, child_digest, left)

    async def _add_tag(self, request: web.Request, view: RepositoryView, digest: str) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return api_error(400, "BAD_REQUEST", "invalid JSON body")
        tag = body.get("name") if isinstance(body, dict) else None
        if not isinstance(tag, str) or not tag:
            return api_error(400, "BAD_REQUEST", "the tag name is required")
        if tag in view.tags:
            return api_error(409, "CONFLICT", f"tag {tag} already exists")
        if await self.put_manifest(view.name, tag, view.manifests[digest]) != 201:
            return api_error(500, "UNKNOWN", f"the registry refused tag {tag}")
        return web.Response(status=201, headers={"Location": f"{request.rel_url.raw_path}/{tag}"})

    async def _add_label(self, request: web.Request, repository: str, digest: str) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return api_error(400, "BAD_REQUEST", "invalid JSON body")
        label_id = body.get("id") if isinstance(body, dict) else None
        with self._lock:
            if not any(label.id == label_id for label in self._labels.values()):
                return api_error(404, "NOT_FOUND", f"label {label_id} not found")
            attached = self._artifact_labels.setdefault((repository, digest), [])
            if label_id in attached:
                return api_error(409, "CONFLICT", f"label {label_id} is already added to the artifact")
            attached.append(int(label_id or 0))
        return web.Response(status=200)

    def _labels_of(self, repository: str, digest: str) -> list[dict[str, Any]]:
        with self._lock:
            ids = list(self._artifact_labels.get((repository, digest), []))
            by_id = {label.id: label for label in self._labels.values()}
        return [_label_json(by_id[i]) for i in ids if i in by_id]

    def _list_labels(self, request: web.Request) -> web.Response:
        with self._lock:
            labels = sorted(self._labels.values(), key=lambda label: label.id)
        name = request.query.get("name")
        return self._paged(request, [_label_json(x) for x in labels if name is None or name in x.name])

    def _tag_json(self, view: RepositoryView, digest: str, tag: str) -> dict[str, Any]:
        return {
            "id": self._id("tag", view.name, tag),
            "repository_id": self._id("repository", view.name),
            "artifact_id": self._id("artifact", view.name, digest),
            "name": tag,
            "push_time": iso_time(view.tag_pushed.get(tag, 0.0)),
            "pull_time": ZERO_TIME,
            "immutable": False,
            "signed": False,
        }

    async def _artifact_json(
        self, project: _Project, view: RepositoryView, digest: str, with_tag: bool, with_label: bool
    ) -> dict[str, Any]:
        manifest = view.manifests[digest]
        artifact_id = self._id("artifact", view.name, digest)
        extra: dict[str, Any] = {}
        references: list[dict[str, Any]] | None = None
        if manifest.is_index:
            media_type, kind = manifest.media_type, "IMAGE"
            references = [
                {
                    "parent_id": artifact_id,
                    "child_id": self._id("artifact", view.name, child["digest"]),
                    "child_digest": child["digest"],
                    "platform": child.get("platform"),
                    "urls": child.get("urls"),
                    "annotations": child.get("annotations"),
                }
                for child in manifest.children
            ]
        else:
            config = manifest.config or {}
            media_type = str(config.get("mediaType") or manifest.media_type)
            kind = (
                "IMAGE"
                if media_type in _IMAGE_CONFIGS
                else "CHART"
                if media_type == _CHART_CONFIG
                else "UNKNOWN"
            )
            if kind == "IMAGE" and "digest" in config:
                document = await self.find_json_blob(view.name, config["digest"])
                if isinstance(document, dict):
                    keys = ("architecture", "os", "variant", "author", "created", "config")
                    extra = {k: document[k] for k in keys if k in document}
        tags = [self._tag_json(view, digest, t) for t in view.tags_of(digest)] if with_tag else []
        labels = self._labels_of(view.name, digest) if with_label else []
        return {
            "id": artifact_id,
            "type": kind,
            "media_type": media_type,
            "manifest_media_type": manifest.media_type,
            "project_id": project.id,
            "repository_id": self._id("repository", view.name),
            "repository_name": view.name,
            "digest": digest,
            "size": _artifact_size(view, digest),
            "icon": "",
            "push_time": iso_time(view.pushed.get(digest, 0.0)),
            "pull_time": ZERO_TIME,
            "extra_attrs": extra,
            "annotations": manifest.document.get("annotations"),
            "references": references or None,
            "tags": tags or None,
            "labels": labels or None,
        }


def _artifact_size(view: RepositoryView, digest: str) -> int:
    """Harbor's size: the manifest plus its config and layers; an index adds its children's."""
    manifest = view.manifests.get(digest)
    if manifest is None:
        return 0
    if manifest.is_index:
        return len(manifest.raw) + sum(
            _artifact_size(view, c["digest"]) or int(c.get("size", 0)) for c in manifest.children
        )
    blobs = [manifest.config or {}, *manifest.layers]
    return len(manifest.raw) + sum(int(b.get("size", 0)) for b in blobs)


def _label_json(label: _Label) -> dict[str, Any]:
    created = iso_time(label.created)
    return {
        "id": label.id,
        "name": label.name,
        "description": "",
        "color": "",
        "scope": "g",
        "project_id": 0,
        "creation_time": created,
        "update_time": created,
    }


def _valid_project_name(name: str) -> bool:
    return 1 <= len(name) <= 255 and bool(_PROJECT_NAME.match(name))


def _q_value(request: web.Request, key: str) -> str | None:
    """The value of ``key=v`` (or ``key=~v``) in Harbor's ``q`` query; ``~`` kept."""
    for condition in request.query.get("q", "").split(","):
        name, sep, value = condition.partition("=")
        if sep and name.strip() == key:
            return value.strip()
    return None


def _q_matches(request: web.Request, value: str, key: str) -> bool:
    """Harbor's ``q``: ``key=v`` is exact, ``key=~v`` a substring match."""
    wanted = _q_value(request, key)
    if wanted is None:
        return True
    return wanted[1:] in value if wanted.startswith("~") else wanted == value
