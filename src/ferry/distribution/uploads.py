"""Blob uploads: cross-repository mount, one streamed PUT, or resumable chunked PATCHes.

A refused mount answers 202 with an ordinary upload session, so trying a mount first costs no
extra round trip.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable
from dataclasses import dataclass

from yarl import URL

from ferry.distribution.challenge import repository_scope
from ferry.distribution.session import RegistrySession
from ferry.distribution.transport import Reply
from ferry.errors import RegistryError, RequestContext
from ferry.oci.digest import Digest


@dataclass(frozen=True)
class UploadSession:
    """An open upload: where to send the next bytes and how many the registry holds."""

    repository: str
    location: str
    offset: int = 0


@dataclass(frozen=True)
class Mounted:
    """The registry linked an existing blob into the repository; nothing to upload."""

    repository: str
    digest: Digest


class UploadsMixin:
    """Upload operations of :class:`ferry.distribution.client.RegistryClient`."""

    registry: str
    session: RegistrySession

    def context(
        self, repository: str | None = None, reference: str | None = None, operation: str | None = None
    ) -> RequestContext:
        raise NotImplementedError

    async def start_upload(
        self, repository: str, *, mount: Digest | None = None, mount_from: str | None = None
    ) -> UploadSession | Mounted:
        """Open an upload, or mount ``mount`` from ``mount_from`` when the registry allows it."""
        context = self.context(repository, str(mount) if mount else None, "start upload")
        scopes = [repository_scope(repository, "pull", "push")]
        params: dict[str, str] = {}
        if mount is not None and mount_from:
            params = {"mount": str(mount), "from": mount_from}
            if mount_from != repository:
                scopes.append(repository_scope(mount_from, "pull"))
        response = await self.session.send(
            "POST",
            await self.session.url(f"/v2/{repository}/blobs/uploads/"),
            context=context,
            summary="upload could not start",
            scopes=tuple(scopes),
            params=params or None,
            body=b"",
        )
        if response.status_code == 201 and mount is not None:
            return Mounted(repository, mount)
        if response.status_code != 202:
            raise self.session.fail(response, context, "upload could not start")
        return UploadSession(repository, _location(response), 0)

    async def put_upload(
        self, upload: UploadSession, digest: Digest, size: int, body: AsyncIterable[bytes]
    ) -> None:
        """Send the whole blob in one streamed PUT and commit it under ``digest``."""
        context = self.context(upload.repository, str(digest), "upload blob")
        response = await self.session.send(
            "PUT",
            _with_digest(upload.location, digest),
            context=context,
            summary="blob upload failed",
            scopes=(repository_scope(upload.repository, "pull", "push"),),
            body=body,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        )
        if response.status_code != 201:
            raise self.session.fail(response, context, "blob upload failed")

    async def patch_upload(
        self, upload: UploadSession, body: AsyncIterable[bytes], *, length: int, digest: Digest
    ) -> UploadSession:
        """Append ``length`` bytes at ``upload.offset``; returns the session to continue with."""
        context = self.context(upload.repository, str(digest), "upload chunk")
        end = upload.offset + length - 1
        response = await self.session.send(
            "PATCH",
            upload.location,
            context=context,
            summary="chunk upload failed",
            scopes=(repository_scope(upload.repository, "pull", "push"),),
            body=body,
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Length": str(length),
                "Content-Range": f"{upload.offset}-{end}",
            },
        )
        if response.status_code != 202:
            raise self.session.fail(response, context, "chunk upload failed")
        return UploadSession(
            upload.repository, _location(response, upload.location), _next_offset(response, end + 1)
        )

    async def upload_status(self, upload: UploadSession) -> UploadSession:
        """Ask the registry how many bytes of the upload it holds (to resume after a failure)."""
        context = self.context(upload.repository, None, "check upload")
        response = await self.session.send(
            "GET",
            upload.location,
            context=context,
            summary="upload status check failed",
            scopes=(repository_scope(upload.repository, "pull", "push"),),
        )
        if response.status_code not in (200, 204):
            raise self.session.fail(response, context, "upload status check failed")
        return UploadSession(
            upload.repository, _location(response, upload.location), _next_offset(response, 0)
        )

    async def finish_upload(self, upload: UploadSession, digest: Digest) -> None:
        context = self.context(upload.repository, str(digest), "finish upload")
        response = await self.session.send(
            "PUT",
            _with_digest(upload.location, digest),
            context=context,
            summary="upload could not finish",
            scopes=(repository_scope(upload.repository, "pull", "push"),),
            body=b"",
            headers={"Content-Type": "application/octet-stream"},
        )
        if response.status_code != 201:
            raise self.session.fail(response, context, "upload could not finish")

    async def cancel_upload(self, upload: UploadSession) -> None:
        """Best effort: registries also expire abandoned uploads on their own."""
        with contextlib.suppress(RegistryError):
            await self.session.send(
                "DELETE",
                upload.location,
                context=self.context(upload.repository, None, "cancel upload"),
                summary="upload cancel failed",
                scopes=(repository_scope(upload.repository, "pull", "push"),),
            )


def _location(response: Reply, fallback: str | None = None) -> str:
    location = response.headers.get("location")
    if not location:
        if fallback is None:
            raise RegistryError(
                "registry opened an upload without a Location",
                context=RequestContext(URL(response.url).host or response.url),
                status=response.status_code,
            )
        return fallback
    return response.join(location)


def _next_offset(response: Reply, default: int) -> int:
    """The offset after the registry's ``Range: 0-N`` header (N + 1), or ``default``.

    Distribution writes ``0-0`` for an empty upload as well as for one holding a single byte;
    reading it as empty at worst re-sends one byte, never skips one.
    """
    value = response.headers.get("range")
    if not value:
        return default
    _, _, end = value.removeprefix("bytes=").partition("-")
    try:
        last = int(end)
    except ValueError:
        return default
    return 0 if last == 0 else last + 1


def _with_digest(location: str, digest: Digest) -> str:
    return str(URL(location, encoded=True).update_query({"digest": str(digest)}))
