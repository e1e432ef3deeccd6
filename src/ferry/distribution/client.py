"""``RegistryClient``: the OCI Distribution API of one registry, as typed async methods."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from ferry.distribution.blobs import BlobReader
from ferry.distribution.challenge import CATALOG_SCOPE, Challenge, repository_scope
from ferry.distribution.options import RegistryOptions
from ferry.distribution.quota import PullQuota, shared_quota
from ferry.distribution.session import RegistrySession, RequestStats
from ferry.distribution.transport import Reply
from ferry.distribution.uploads import Mounted, UploadSession, UploadsMixin
from ferry.errors import IntegrityError, NotFound, RequestContext, Unauthorized
from ferry.oci.digest import Digest
from ferry.oci.manifest import Manifest
from ferry.oci.mediatypes import MANIFEST_ACCEPT

__all__ = ["BlobReader", "ManifestInfo", "Mounted", "PingResult", "RegistryClient", "UploadSession"]


@dataclass(frozen=True)
class ManifestInfo:
    digest: Digest
    media_type: str
    size: int


@dataclass(frozen=True)
class PingResult:
    url: str
    auth_scheme: str
    authenticated: bool


class RegistryClient(UploadsMixin):
    """One registry host. Use as ``async with RegistryClient(host, options) as client``."""

    def __init__(self, registry: str, options: RegistryOptions | None = None) -> None:
        self.registry = registry
        self.options = options or RegistryOptions()
        self.session = RegistrySession(registry, self.options)
        self.quota: PullQuota | None = None
        if self.options.pull_quota:  # one gate per registry and account in the process
            account = self.options.credentials.username if self.options.credentials else None
            self.quota = shared_quota(registry, account)

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.session.aclose()

    @property
    def stats(self) -> RequestStats:
        return self.session.stats

    def context(
        self, repository: str | None = None, reference: str | None = None, operation: str | None = None
    ) -> RequestContext:
        return RequestContext(self.registry, repository, reference, operation)

    async def connect(self) -> str:
        """Settle how to reach the registry (HTTPS, or HTTP for loopback hosts that do not speak TLS)
        ahead of the first real request, so callers can overlap it with other work."""
        return await self.session.base_url()

    async def ping(self) -> PingResult:
        """Check that this is a registry and that the credentials work (like ``docker login``)."""
        context = self.context(operation="ping")
        response = await self.session.send(
            "GET", await self.session.url("/v2/"), context=context, summary="ping"
        )
        if response.status_code == 404:
            raise NotFound(
                "no registry API at /v2/",
                context=context,
                status=404,
                hint="check the URL: it must point at a registry (Docker/OCI distribution API)",
            )
        if response.status_code == 401:
            raise Unauthorized(
                "unauthorized",
                context=context,
                status=401,
                hint="check the user name and password (or access key) for this registry",
            )
        if response.status_code >= 400:
            raise self.session.fail(response, context, "ping failed")
        scheme = self.session.auth.scheme
        signed_in = self.options.credentials is not None or self.options.credential_source is not None
        if scheme.value == "bearer" and signed_in:
            await self.session.auth.prepare(())
        return PingResult(
            url=await self.session.base_url(),
            auth_scheme=scheme.value if scheme.value != "unknown" else "anonymous",
            authenticated=signed_in,
        )

    @property
    def challenge(self) -> Challenge | None:
        """The Bearer challenge the registry answered with, once a request met one: its realm and
        service tell who runs the registry (Alibaba ACR puts edition, region and instance there)."""
        return self.session.auth.challenge

    async def probe_push(self, repository: str) -> None:
        """Whether the credentials may push into ``repository``: open an upload and cancel it at
        once. Raises ``Denied`` or ``Unauthorized`` as the registry answers; writes nothing."""
        upload = await self.start_upload(repository)
        if isinstance(upload, UploadSession):
            await self.cancel_upload(upload)

    async def list_repositories(self, *, page_size: int = 1000) -> AsyncIterator[str]:
        """Every repository in the catalog, following ``Link`` pagination."""
        context = self.context(operation="list repositories")
        url: str | None = await self.session.url("/v2/_catalog")
        params: dict[str, str] | None = {"n": str(page_size)}
        while url:
            response = await self.session.send(
                "GET",
                url,
                context=context,
                summary="catalog listing failed",
                scopes=(CATALOG_SCOPE,),
                params=params,
            )
            if response.status_code != 200:
                raise self.session.fail(response, context, "catalog listing failed")
            for name in response.json().get("repositories") or []:
                yield str(name)
            url, params = await self._next_page(response), None

    async def list_tags(self, repository: str, *, page_size: int = 1000) -> list[str]:
        context = self.context(repository, operation="list tags")
        url: str | None = await self.session.url(f"/v2/{repository}/tags/list")
        params: dict[str, str] | None = {"n": str(page_size)}
        tags: list[str] = []
        while url:
            response = await self.session.send(
                "GET",
                url,
                context=context,
                summary="tag listing failed",
                scopes=(repository_scope(repository, "pull"),),
                params=params,
            )
            if response.status_code != 200:
                raise self.session.fail(response, context, "tag listing failed")
            tags.extend(str(tag) for tag in response.json().get("tags") or [])
            url, params = await self._next_page(response), None
        return tags

    async def head_manifest(self, repository: str, reference: str) -> ManifestInfo | None:
        """Digest, type and size of a manifest, or None when it does not exist."""
        context = self.context(repository, reference, "check manifest")
        ticket = self.quota.ticket() if self.quota is not None else None
        response = await self.session.send(
            "HEAD",
            await self.session.url(f"/v2/{repository}/manifests/{reference}"),
            context=context,
            summary="manifest check failed",
            scopes=(repository_scope(repository, "pull"),),
            headers={"Accept": MANIFEST_ACCEPT},
        )
        if self.quota is not None and ticket is not None:
            self.quota.note(ticket, response.headers, response.status_code)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self.session.fail(response, context, "manifest check failed")
        digest_header = response.headers.get("docker-content-digest")
        if not digest_header:  # some registries omit it on HEAD: hash the body instead
            manifest = await self.get_manifest(repository, reference)
            return ManifestInfo(manifest.digest, manifest.media_type, len(manifest.raw))
        return ManifestInfo(
            digest=Digest.parse(digest_header),
            media_type=response.headers.get("content-type", "").split(";")[0].strip(),
            size=int(response.headers.get("content-length") or 0),
        )

    async def get_manifest(self, repository: str, reference: str) -> Manifest:
        context = self.context(repository, reference, "get manifest")
        ticket = await self.quota.before_pull() if self.quota is not None else None
        answer: Reply | None = None
        try:
            answer = await self.session.send(
                "GET",
                await self.session.url(f"/v2/{repository}/manifests/{reference}"),
                context=context,
                summary="manifest download failed",
                scopes=(repository_scope(repository, "pull"),),
                headers={"Accept": MANIFEST_ACCEPT},
            )
        finally:
            if self.quota is not None and ticket is not None:
                await self.quota.after_pull(
                    ticket,
                    answer.headers if answer is not None else None,
                    answer.status_code if answer is not None else None,
                )
        response = answer
        if response.status_code != 200:
            raise self.session.fail(response, context, "manifest download failed")
        where = (
            f"{self.registry}/{repository}@{reference}"
            if reference.startswith("sha")
            else (f"{self.registry}/{repository}:{reference}")
        )
        manifest = Manifest.from_bytes(
            response.content, content_type=response.headers.get("content-type"), where=where
        )
        if reference.startswith(f"{manifest.digest.algorithm}:") and reference != str(manifest.digest):
            raise IntegrityError(f"{where}: the registry served a manifest with digest {manifest.digest}")
        return manifest

    async def put_manifest(self, repository: str, reference: str, manifest: Manifest) -> None:
        context = self.context(repository, reference, "push manifest")
        response = await self.session.send(
            "PUT",
            await self.session.url(f"/v2/{repository}/manifests/{reference}"),
            context=context,
            summary="manifest push failed",
            scopes=(repository_scope(repository, "pull", "push"),),
            headers={"Content-Type": manifest.media_type},
            body=manifest.raw,
        )
        if response.status_code not in (200, 201, 202):
            raise self.session.fail(response, context, "manifest push failed")

    async def delete_manifest(self, repository: str, reference: str) -> None:
        context = self.context(repository, reference, "delete manifest")
        response = await self.session.send(
            "DELETE",
            await self.session.url(f"/v2/{repository}/manifests/{reference}"),
            context=context,
            summary="manifest deletion failed",
            scopes=(repository_scope(repository, "delete"),),
        )
        if response.status_code not in (200, 202, 204):
            raise self.session.fail(response, context, "manifest deletion failed")

    async def head_blob(self, repository: str, digest: Digest) -> int | None:
        """Size of a blob in ``repository``, or None when the repository does not hold it."""
        context = self.context(repository, str(digest), "check blob")
        response = await self.session.send(
            "HEAD",
            await self.session.url(f"/v2/{repository}/blobs/{digest}"),
            context=context,
            summary="blob check failed",
            scopes=(repository_scope(repository, "pull"),),
            follow_redirects=True,
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self.session.fail(response, context, "blob check failed")
        return int(response.headers.get("content-length") or 0)

    @asynccontextmanager
    async def open_blob(
        self, repository: str, digest: Digest, *, offset: int = 0
    ) -> AsyncIterator[BlobReader]:
        """Stream a blob from ``offset``; redirects are followed without sending credentials elsewhere."""
        context = self.context(repository, str(digest), "download blob")
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        response = await self.session.send(
            "GET",
            await self.session.url(f"/v2/{repository}/blobs/{digest}"),
            context=context,
            summary="blob download failed",
            scopes=(repository_scope(repository, "pull"),),
            headers=headers,
            stream=True,
            follow_redirects=True,
        )
        try:
            if response.status_code not in (200, 206):
                raise self.session.fail(response, context, "blob download failed")
            skip = offset if (offset and response.status_code == 200) else 0
            yield BlobReader(response, context=context, skip=skip)
        finally:
            await response.aclose()

    async def delete_blob(self, repository: str, digest: Digest) -> None:
        context = self.context(repository, str(digest), "delete blob")
        response = await self.session.send(
            "DELETE",
            await self.session.url(f"/v2/{repository}/blobs/{digest}"),
            context=context,
            summary="blob deletion failed",
            scopes=(repository_scope(repository, "delete"),),
        )
        if response.status_code not in (200, 202, 204):
            raise self.session.fail(response, context, "blob deletion failed")

    async def _next_page(self, response: Reply) -> str | None:
        return response.link("next")
