"""``DockerHubProvider``: Docker Hub, its registry and its Hub API, within its pull quota.

The endpoint Harbor's form fixes is ``https://hub.docker.com``; the registry API is at
``registry-1.docker.io`` and the listing API at ``hub.docker.com`` (another URL — a mirror, or the
test emulator — serves both). Docker Hub has no catalog: repositories are listed per namespace
through the Hub API, the namespaces being the literal first components of the rule's name filters
(``library/**``), or the signed-in account's own. Tags and their digests come from the Hub API too,
so listing spends no pulls; digests are compared with HEAD, which is free; and manifest downloads
go through the pull-quota gate (``distribution.quota``), which slows down before a 429 rather than after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from ferry.distribution.client import RegistryClient
from ferry.distribution.options import RegistryOptions
from ferry.distribution.vendor import VendorApi
from ferry.errors import FerryError, InvalidInput, RequestContext, Unauthorized
from ferry.oci.digest import Digest
from ferry.providers.base import ClientSettings, ListedArtifact, RegistryProvider
from ferry.providers.endpoint import Endpoint
from ferry.providers.kinds import RegistryType

HUB_HOSTS = frozenset(
    {"hub.docker.com", "docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
REGISTRY_HOST = "registry-1.docker.io"
HUB_API = "https://hub.docker.com"
PAGE_SIZE = 100


class DockerHubProvider(RegistryProvider):
    kind = RegistryType.DOCKER_HUB
    display_name = "Docker Hub"

    def __init__(self, endpoint: Endpoint, client_settings: ClientSettings | None = None) -> None:
        super().__init__(endpoint, client_settings)
        self._official = endpoint.host.lower() in HUB_HOSTS
        self._api: VendorApi | None = None
        self._login: str | None = None

    @property
    def registry_host(self) -> str:
        return REGISTRY_HOST if self._official else self.endpoint.host

    def options(self) -> RegistryOptions:
        options = replace(super().options(), pull_quota=True)
        return replace(options, plain_http=None) if self._official else options

    async def aclose(self) -> None:
        if self._api is not None:
            await self._api.aclose()
            self._api = None

    def api(self) -> VendorApi:
        if self._api is None:
            base = HUB_API if self._official else self.endpoint.url
            options = RegistryOptions(
                insecure=self.endpoint.insecure and not self._official,
                ca_pem=None if self._official else self.endpoint.ca_pem,
                retry=self.client_settings.retry,
            )
            self._api = VendorApi(base, options, name="Docker Hub API")
        return self._api

    async def _headers(self) -> dict[str, str]:
        credentials = self.endpoint.credentials
        if credentials is None:
            return {}
        if self._login is None:
            answer = await self.api().call(
                "POST",
                "/v2/users/login",
                json_body={"username": credentials.username, "password": credentials.password},
                operation="sign in",
            )
            token = answer.document.get("token") if isinstance(answer.document, dict) else None
            if not answer.ok or not token:
                raise Unauthorized(
                    "Docker Hub refused the sign-in",
                    context=RequestContext(self.api().host, operation="sign in"),
                    status=answer.status,
                    hint="check the Docker Hub user name and password (or personal access token)",
                )
            self._login = str(token)
        return {"Authorization": f"Bearer {self._login}"}

    async def _pages(self, path: str, operation: str) -> list[Any]:
        items: list[Any] = []
        query: dict[str, str] = {"page_size": str(PAGE_SIZE)}
        while True:
            answer = await self.api().call(
                "GET", path, query=query, headers=await self._headers(), operation=operation
            )
            if answer.status == 404:
                return items
            if not answer.ok or not isinstance(answer.document, dict):
                raise FerryError(
                    f"Docker Hub API: {operation} failed (HTTP {answer.status}): {answer.text[:200]}"
                )
            items.extend(answer.document.get("results") or [])
            following = answer.document.get("next")
            if not following:
                return items
            parts = urlsplit(str(following))
            path, query = parts.path, dict(parse_qsl(parts.query))

    # -- source -----------------------------------------------------------------------------
    async def list_repositories(self, client: RegistryClient, namespaces: Sequence[str]) -> list[str]:
        wanted = list(namespaces)
        if not wanted:
            if self.endpoint.credentials is None:
                raise InvalidInput(
                    "Docker Hub has no catalog: ferry lists the namespaces a rule names",
                    hint="start the name filter with the namespace, e.g. library/** or myorg/app-*, "
                    "or sign in so ferry lists your own namespace",
                )
            wanted = [self.endpoint.credentials.username]
        names: list[str] = []
        for namespace in wanted:
            for item in await self._pages(
                f"/v2/repositories/{quote(namespace, safe='')}/", "list repositories"
            ):
                if isinstance(item, dict) and item.get("name"):
                    names.append(f"{item.get('namespace') or namespace}/{item['name']}")
        return sorted(set(names))

    async def list_artifacts(self, client: RegistryClient, repository: str) -> list[ListedArtifact] | None:
        namespace, _, name = repository.partition("/")
        path = f"/v2/namespaces/{quote(namespace, safe='')}/repositories/{quote(name, safe='')}/tags"
        results = await self._pages(path, "list tags")
        by_digest: dict[str, list[str]] = {}
        for item in results:
            if not isinstance(item, dict) or not item.get("name"):
                continue
            digest = item.get("digest")
            if not digest:
                return None  # an old answer without digests: read the tags from the registry
            by_digest.setdefault(str(digest), []).append(str(item["name"]))
        return [
            ListedArtifact(Digest.parse(digest), tuple(sorted(tags))) for digest, tags in by_digest.items()
        ]
