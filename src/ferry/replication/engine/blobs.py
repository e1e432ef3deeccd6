"""Making a blob present in a destination repository: already there, mounted, or uploaded.

One transfer per (destination registry, digest) at a time: a second image needing the same
layer waits for the first transfer and then mounts it, so shared base layers cross the link once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass

from ferry.distribution.client import Mounted, RegistryClient, UploadSession
from ferry.errors import NotFound, RegistryError, Unavailable
from ferry.oci.descriptor import Descriptor
from ferry.oci.digest import Digest
from ferry.replication.engine.progress import BlobDone, BlobOutcome, BlobQueued, ProgressSink
from ferry.replication.engine.stream import SourceCursor
from ferry.replication.engine.throttle import BandwidthLimiter, TransferSlots

MiB = 1024 * 1024


@dataclass(frozen=True)
class ChunkPolicy:
    """When to upload in resumable chunks instead of one streamed PUT.

    ``threshold`` None means never; 0 means always (Harbor's ``copy_by_chunk``).
    """

    threshold: int | None = None
    size: int = 10 * MiB

    def applies_to(self, size: int) -> bool:
        return self.threshold is not None and size >= self.threshold and size > 0


@dataclass(frozen=True)
class BlobRoute:
    """Where a blob comes from and where it must end up."""

    source: RegistryClient
    source_repository: str
    destination: RegistryClient
    destination_repository: str


Log = Callable[[str], None]
#: The destination requests that carry an open upload session (a 404 there means it expired).
_UPLOAD_OPERATIONS = ("upload blob", "upload chunk", "finish upload")
InflightKey = tuple[str, Digest, str | None]


class BlobMover:
    def __init__(
        self,
        *,
        slots: TransferSlots,
        limiter: BandwidthLimiter,
        chunks: ChunkPolicy,
        attempts: int,
        emit: ProgressSink,
    ) -> None:
        self._slots = slots
        self._limiter = limiter
        self._chunks = chunks
        self._attempts = attempts
        self._emit = emit
        self._known: dict[tuple[str, Digest], list[str]] = {}
        self._inflight: dict[InflightKey, asyncio.Event] = {}

    def remember(self, registry: str, repository: str, digest: Digest) -> None:
        """Record that ``repository`` in ``registry`` holds ``digest`` (a later mount source)."""
        holders = self._known.setdefault((registry, digest), [])
        if repository not in holders:
            holders.append(repository)

    async def ensure(self, route: BlobRoute, blob: Descriptor, log: Log) -> BlobOutcome:
        """Make ``blob`` present in the destination repository, moving its bytes at most once per
        destination registry.

        Work is single-flight per (registry, digest) while nobody holds the blob yet, and per
        (registry, digest, repository) always: writing the same blob into one repository twice at
        once is not only wasted, distribution rewrites the repository's link file in place, and a
        manifest PUT that reads it half-written fails with DIGEST_INVALID.
        """
        registry, repository = route.destination.registry, route.destination_repository
        any_key: InflightKey = (registry, blob.digest, None)
        repo_key: InflightKey = (registry, blob.digest, repository)
        while True:
            holders = self._known.get((registry, blob.digest), [])
            if repository in holders:
                log(f"blob {blob.digest.short} already present (moved earlier in this run)")
                return BlobOutcome.EXISTS
            pending = self._inflight.get(repo_key) or (None if holders else self._inflight.get(any_key))
            if pending is None:
                break
            await pending.wait()
        keys = [repo_key] if holders else [repo_key, any_key]
        done = asyncio.Event()
        for key in keys:
            self._inflight[key] = done
        try:
            if holders:
                return await self._mount_or_upload(route, blob, holders[0], log)
            return await self._check_or_upload(route, blob, log)
        finally:
            for key in keys:
                del self._inflight[key]
            done.set()

    async def _mount_or_upload(
        self, route: BlobRoute, blob: Descriptor, holder: str, log: Log
    ) -> BlobOutcome:
        started = await route.destination.start_upload(
            route.destination_repository, mount=blob.digest, mount_from=holder
        )
        if isinstance(started, Mounted):
            self._finish(route, blob, BlobOutcome.MOUNTED)
            log(f"blob {blob.digest.short} ({blob.size} bytes) mounted from {holder}")
            return BlobOutcome.MOUNTED
        log(f"blob {blob.digest.short}: mount from {holder} refused, uploading")
        await self._upload(route, blob, started, log)
        return BlobOutcome.UPLOADED

    async def _check_or_upload(self, route: BlobRoute, blob: Descriptor, log: Log) -> BlobOutcome:
        if await route.destination.head_blob(route.destination_repository, blob.digest) is not None:
            self._finish(route, blob, BlobOutcome.EXISTS)
            log(f"blob {blob.digest.short} ({blob.size} bytes) already present")
            return BlobOutcome.EXISTS
        await self._upload(route, blob, None, log)
        return BlobOutcome.UPLOADED

    async def _upload(
        self, route: BlobRoute, blob: Descriptor, session: UploadSession | None, log: Log
    ) -> None:
        self._emit(BlobQueued(str(blob.digest), blob.size))
        if session is None:
            # Opening the upload is a round trip; doing it before taking a slot keeps slots for
            # moving bytes, so the link stays busy between blobs.
            session = await self._open_upload(route)
        async with self._slots.slot(blob.size):
            loop = asyncio.get_running_loop()
            started = loop.time()
            for attempt in range(1, self._attempts + 1):
                try:
                    await self._send(route, blob, session, log)
                    break
                except Unavailable as exc:
                    session = None
                    if attempt == self._attempts:
                        raise
                    delay = random.uniform(0.5, 1.0) * 2**attempt
                    log(
                        f"blob {blob.digest.short}: attempt {attempt} failed ({exc}); "
                        f"retrying in {delay:.1f}s"
                    )
                    await asyncio.sleep(delay)
            elapsed = max(loop.time() - started, 1e-6)
        self._finish(route, blob, BlobOutcome.UPLOADED)
        log(
            f"blob {blob.digest.short} uploaded: {blob.size} bytes in {elapsed:.2f}s "
            f"({blob.size / elapsed / MiB:.1f} MiB/s)"
        )

    async def _send(
        self, route: BlobRoute, blob: Descriptor, session: UploadSession | None, log: Log
    ) -> None:
        """One attempt at the blob's bytes. ``session`` was opened before the blob waited for its
        slot; a registry that expires idle uploads has forgotten it by then (``404
        BLOB_UPLOAD_UNKNOWN``), so a refused waiting session is replaced once with a new one."""
        try:
            if self._chunks.applies_to(blob.size):
                await self._upload_in_chunks(route, blob, session, log)
            else:
                await self._upload_whole(route, blob, session)
        except NotFound as exc:
            if session is None or exc.context.operation not in _UPLOAD_OPERATIONS:
                raise
            log(
                f"blob {blob.digest.short}: the registry no longer knows the upload opened before "
                f"the blob's turn ({exc.message}); opening a new one"
            )
            await self._send(route, blob, None, log)

    async def _upload_whole(self, route: BlobRoute, blob: Descriptor, session: UploadSession | None) -> None:
        destination = route.destination
        if session is None:
            session = await self._open_upload(route)
        cursor = self._cursor(route, blob)
        try:
            await cursor.open()
            await destination.put_upload(session, blob.digest, blob.size, cursor.take(blob.size, final=True))
        finally:
            await cursor.close()

    async def _upload_in_chunks(
        self, route: BlobRoute, blob: Descriptor, session: UploadSession | None, log: Log
    ) -> None:
        """PATCH ``ChunkPolicy.size`` bytes at a time; after a failure ask the registry what it holds
        (its ``Range``) and continue from there instead of starting over."""
        destination = route.destination
        if session is None:
            session = await self._open_upload(route)
        cursor = self._cursor(route, blob)
        snapshots = {0: cursor.verifier.snapshot()}
        failures = 0
        try:
            await cursor.open()
            while session.offset < blob.size:
                start = session.offset
                snapshots.setdefault(start, cursor.verifier.snapshot())
                length = min(self._chunks.size, blob.size - start)
                body = cursor.take(length, final=start + length == blob.size)
                try:
                    session = await destination.patch_upload(session, body, length=length, digest=blob.digest)
                except Unavailable as exc:
                    failures += 1
                    if failures >= self._attempts:
                        raise
                    session = await self._resume_point(route, session, blob, exc, log)
                    resume_from = max(offset for offset in snapshots if offset <= session.offset)
                    cursor.verifier.restore(snapshots[resume_from])
                    await cursor.open(resume_from)
                    await cursor.skip(session.offset - resume_from)
            await destination.finish_upload(session, blob.digest)
        except BaseException:
            with contextlib.suppress(Exception):
                await destination.cancel_upload(session)
            raise
        finally:
            await cursor.close()

    async def _resume_point(
        self, route: BlobRoute, session: UploadSession, blob: Descriptor, failure: Unavailable, log: Log
    ) -> UploadSession:
        """Where to continue after a failed chunk: the registry's ``Range`` for the upload, or a new
        upload when the registry cannot resume it (distribution refuses an upload whose stored size
        no longer matches its last acknowledged state, e.g. after a chunk was cut half way)."""
        try:
            status = await route.destination.upload_status(session)
        except RegistryError as refusal:
            log(
                f"blob {blob.digest.short}: chunk at {session.offset} failed ({failure}); the registry "
                f"cannot resume this upload ({refusal.message}), restarting the blob"
            )
            return await self._open_upload(route)
        log(
            f"blob {blob.digest.short}: chunk at {session.offset} failed ({failure}); registry holds "
            f"{status.offset} bytes, resuming there"
        )
        return status

    async def _open_upload(self, route: BlobRoute) -> UploadSession:
        opened = await route.destination.start_upload(route.destination_repository)
        assert isinstance(opened, UploadSession)  # no mount was asked for
        return opened

    def _cursor(self, route: BlobRoute, blob: Descriptor) -> SourceCursor:
        return SourceCursor(
            route.source,
            route.source_repository,
            blob,
            limiter=self._limiter,
            emit=self._emit,
            destination_repository=route.destination_repository,
        )

    def _finish(self, route: BlobRoute, blob: Descriptor, outcome: BlobOutcome) -> None:
        self.remember(route.destination.registry, route.destination_repository, blob.digest)
        self._emit(BlobDone(str(blob.digest), blob.size, outcome, route.destination_repository))
