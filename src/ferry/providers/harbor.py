"""``HarborProvider``: a Harbor instance, through its registry and its ``/api/v2.0``.

As a destination: the project (the first path component) is created when missing, as Harbor's own
replication does (``create_namespace`` turns that off); otherwise a push into a missing project
fails deep inside the copy with Harbor's "project not found". As a source: repositories and
artifacts come from the API, which also lists untagged artifacts and Harbor labels (so the label
filter means what it means in Harbor); an index's platform manifests are not listed on their own.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from ferry.distribution.client import RegistryClient
from ferry.distribution.options import RegistryOptions
from ferry.distribution.vendor import ApiAnswer, VendorApi
from ferry.errors import Denied, FerryError, InvalidInput, NotFound, RequestContext, Unauthorized
from ferry.oci.digest import Digest
from ferry.providers.base import ClientSettings, ListedArtifact, RegistryProvider
from ferry.providers.endpoint import Endpoint
from ferry.providers.kinds import RegistryType

PAGE_SIZE = 100
API = "/api/v2.0"


class HarborProvider(RegistryProvider):
    kind = RegistryType.HARBOR
    display_name = "Harbor"

    def __init__(self, endpoint: Endpoint, client_settings: ClientSettings | None = None) -> None:
        super().__init__(endpoint, client_settings)
        self._api: VendorApi | None = None
        self._prepared: dict[str, asyncio.Future[str]] = {}

    async def aclose(self) -> None:
        if self._api is not None:
            await self._api.aclose()
            self._api = None

    def api(self) -> VendorApi:
        if self._api is None:
            options = RegistryOptions(
                insecure=self.endpoint.insecure, ca_pem=self.endpoint.ca_pem, retry=self.client_settings.retry
            )
            self._api = VendorApi(self.endpoint.url, options, name="Harbor API")
        return self._api

    def _headers(self) -> dict[str, str]:
        credentials = self.endpoint.credentials
        if credentials is None:
            return {}
        token = base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    async def _get(self, path: str, query: dict[str, str] | None, operation: str) -> ApiAnswer:
        # a project named in digits ("2024") is read as a project id unless told otherwise
        headers = {**self._headers(), "X-Is-Resource-Name": "true"}
        answer = await self.api().call("GET", API + path, query=query, headers=headers, operation=operation)
        if answer.status == 401:
            raise Unauthorized(
                f"Harbor API: {operation} refused the credentials",
                context=RequestContext(self.endpoint.host, operation=operation),
                status=401,
                hint=self.unauthorized_hint,
            )
        return answer

    async def _pages(self, path: str, query: dict[str, str], operation: str) -> list[Any]:
        items: list[Any] = []
        page = 1
        while True:
            answer = await self._get(
                path, {**query, "page": str(page), "page_size": str(PAGE_SIZE)}, operation
            )
            if not answer.ok or not isinstance(answer.document, list):
                raise FerryError(
                    f"Harbor API: {operation} failed (HTTP {answer.status}): {answer.text[:200]}",
                    hint="check the endpoint URL points at a Harbor and the account may read this project",
                )
            items.extend(answer.document)
            total = answer.headers.get("x-total-count")
            if len(answer.document) < PAGE_SIZE or (total and total.isdigit() and len(items) >= int(total)):
                return items
            page += 1

    # -- destination ------------------------------------------------------------------------
    async def prepare_repository(self, client: RegistryClient, repository: str) -> str | None:
        """Check the project once per run: concurrent tasks into one project share the check (and
        its line for the task log)."""
        project = repository.split("/", 1)[0]
        pending = self._prepared.get(project)
        if pending is None:
            pending = asyncio.ensure_future(self._prepare_project(project, repository))
            self._prepared[project] = pending
        try:
            line = await asyncio.shield(pending)
        except Exception:
            if self._prepared.get(project) is pending and pending.done():
                del self._prepared[project]  # a later task may try again (an outage may end)
            raise
        return line

    async def _prepare_project(self, project: str, repository: str) -> str:
        context = RequestContext(self.endpoint.host, repository, operation="check project")
        answer = await self.api().call(
            "HEAD",
            API + "/projects",
            query={"project_name": project},
            headers=self._headers(),
            operation="check project",
        )
        if answer.ok:
            return f"project {project} exists"
        if answer.status == 401:
            raise Unauthorized(
                "Harbor API refused the credentials", context=context, status=401, hint=self.unauthorized_hint
            )
        if answer.status != 404:
            raise FerryError(f"Harbor API: checking project {project} failed (HTTP {answer.status})")
        if self.endpoint.settings.create_namespace is False:
            raise Denied(
                f"project not found: {project}",
                context=context,
                status=404,
                hint=f"create the project {project} in Harbor, or turn provider_settings.create_namespace "
                "on so ferry creates it",
            )
        created = await self.api().call(
            "POST",
            API + "/projects",
            json_body={"project_name": project, "metadata": {"public": "false"}},
            headers=self._headers(),
            operation="create project",
        )
        if created.status == 201:
            return f"project {project} was missing and has been created (private)"
        if created.status == 409:  # created by someone else meanwhile
            return f"project {project} exists (created meanwhile by someone else)"
        if created.status in (401, 403):
            raise Denied(
                f"project not found: {project}, and the account may not create it",
                context=context,
                status=created.status,
                hint=f"create the project {project} in Harbor, or use an account that may create projects",
            )
        raise FerryError(
            f"Harbor API: creating project {project} failed (HTTP {created.status}): {created.text[:200]}"
        )

    # -- source -----------------------------------------------------------------------------
    async def list_repositories(self, client: RegistryClient, namespaces: Sequence[str]) -> list[str]:
        projects = list(namespaces)
        if not projects:
            listed = await self._pages("/projects", {}, "list projects")
            projects = [str(item.get("name")) for item in listed if isinstance(item, dict)]
        names: list[str] = []
        for project in projects:
            answer = await self._get(f"/projects/{_segment(project)}", None, "get project")
            if answer.status == 404:
                continue
            listed = await self._pages(f"/projects/{_segment(project)}/repositories", {}, "list repositories")
            names.extend(str(item.get("name")) for item in listed if isinstance(item, dict))
        return sorted(set(names))

    async def list_artifacts(self, client: RegistryClient, repository: str) -> list[ListedArtifact] | None:
        project, _, rest = repository.partition("/")
        if not rest:
            raise InvalidInput(
                f"{repository!r} is not a Harbor repository", hint="Harbor names are project/repository"
            )
        path = f"/projects/{_segment(project)}/repositories/{_segment(_segment(rest))}/artifacts"
        listed = await self._pages(path, {"with_tag": "true", "with_label": "true"}, "list artifacts")
        artifacts = []
        for item in listed:
            if not isinstance(item, dict) or not item.get("digest"):
                continue
            tags = tuple(
                sorted(str(tag.get("name")) for tag in item.get("tags") or [] if isinstance(tag, dict))
            )
            labels = tuple(
                sorted(
                    str(label.get("name")) for label in item.get("labels") or [] if isinstance(label, dict)
                )
            )
            artifacts.append(ListedArtifact(Digest.parse(str(item["digest"])), tags, labels))
        return artifacts

    # -- health -----------------------------------------------------------------------------
    async def check(self, client: RegistryClient) -> None:
        """The registry answers, and the credential works. Harbor takes wrong credentials for an
        anonymous caller on ``/v2/``, its token service and most of its API, so that alone proves
        little: the account is asked for by name (``users/current``), which only a signed-in caller
        may read. Without a credential, the API answering is all there is to check (anonymous
        callers may pull from public projects)."""
        if self.endpoint.credentials is None:
            answer = await self.api().call("GET", API + "/ping", operation="ping")
            if not answer.ok:
                raise NotFound(
                    f"no Harbor API at {self.endpoint.url}{API} (HTTP {answer.status})",
                    context=RequestContext(self.endpoint.host, operation="ping"),
                    status=answer.status,
                    hint="check the URL: it must point at a Harbor instance",
                )
            return
        await client.ping()
        # 401: an anonymous caller, so the credential is wrong. A robot account gets 403 (its
        # security context is not a local user's), which still proves it signed in.
        await self._get("/users/current", None, "check the credentials")


def _segment(text: str) -> str:
    return quote(text, safe="")
