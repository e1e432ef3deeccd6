"""``CopyEngine``: copies images digest first, children before indexes, blobs before manifests,
the tag last, with one bounded pool of transfers across every image of a run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ferry.distribution.client import RegistryClient
from ferry.errors import FerryError, NotFound, RequestContext
from ferry.oci.descriptor import Descriptor
from ferry.oci.digest import Digest
from ferry.oci.manifest import Manifest
from ferry.oci.reference import ImageReference
from ferry.providers.content import NO_RULES, ContentRules
from ferry.replication.domain.status import already_exists_message
from ferry.replication.engine.blobs import BlobMover, BlobRoute, ChunkPolicy
from ferry.replication.engine.content import shape_for_destination
from ferry.replication.engine.progress import (
    ImageDone,
    ImageOutcome,
    ImagePlanned,
    LogLine,
    ProgressSink,
    ignore_progress,
)
from ferry.replication.engine.tasks import bounded_map, run_all
from ferry.replication.engine.throttle import BandwidthLimiter, TransferSlots

ClientFor = Callable[[str], RegistryClient]


@dataclass(frozen=True)
class CopyItem:
    source: ImageReference
    destination: ImageReference


@dataclass(frozen=True)
class CopyResult:
    item: CopyItem
    outcome: ImageOutcome
    digest: Digest | None = None
    message: str = ""
    seconds: float = 0.0
    error: FerryError | None = None
    """Why the image failed, for callers that decide whether a retry can help."""


@dataclass(frozen=True)
class CopyOptions:
    """``concurrency`` bounds blob transfers across the whole run (per lane: big blobs largest
    first, small ones beside them); ``image_concurrency`` bounds images in progress at once.

    The blobs of every image in progress queue for the same transfer slots, so a wide image window
    keeps the link busy across image boundaries: with 64 images, the link idled whenever the window
    waited for its last shared layer before the next images were even looked at. Each queued blob
    holds an open upload (opened before its turn, so slots only move bytes)."""

    concurrency: int = 16
    image_concurrency: int = 256
    override: bool = True
    limit_rate: int | None = None
    chunks: ChunkPolicy = field(default_factory=ChunkPolicy)
    blob_attempts: int = 3
    dry_run: bool = False
    content: ContentRules = NO_RULES
    """What the destination accepts (Alibaba ACR: no empty-config manifests)."""


class CopyEngine:
    def __init__(
        self, client_for: ClientFor, options: CopyOptions, *, emit: ProgressSink = ignore_progress
    ) -> None:
        self._client_for = client_for
        self._options = options
        self._emit = emit
        self._slots = TransferSlots(options.concurrency)
        self._blobs = BlobMover(
            slots=self._slots,
            limiter=BandwidthLimiter(options.limit_rate),
            chunks=options.chunks,
            attempts=options.blob_attempts,
            emit=emit,
        )
        self._manifests: dict[tuple[str, str, Digest], asyncio.Future[Manifest]] = {}
        self._children = asyncio.Semaphore(max(4, options.concurrency))

    @property
    def transfers_in_flight(self) -> int:
        """Blob uploads moving bytes right now (holding one of the shared transfer slots)."""
        return self._slots.in_use

    async def copy(self, items: Sequence[CopyItem]) -> list[CopyResult]:
        """Copy every item; one failing image never stops or corrupts the others."""
        for item in items:
            self._emit(ImagePlanned(str(item.source), str(item.destination)))
        return await bounded_map(self.copy_one, items, limit=self._options.image_concurrency)

    async def copy_one(self, item: CopyItem) -> CopyResult:
        started = time.monotonic()
        error: FerryError | None = None
        try:
            outcome, digest, message = await self._copy_image(item)
        except FerryError as exc:
            outcome, digest, message, error = ImageOutcome.FAILED, None, str(exc), exc
            self._log(item, f"failed: {message}")
        except Exception as exc:  # the per-image edge: a bug in one image must not stop the others
            outcome, digest, message = (
                ImageOutcome.FAILED,
                None,
                f"internal error: {type(exc).__name__}: {exc}",
            )
            self._log(item, f"failed: {message}")
        result = CopyResult(item, outcome, digest, message, time.monotonic() - started, error)
        self._emit(ImageDone(str(item.source), str(item.destination), outcome, message))
        return result

    async def _copy_image(self, item: CopyItem) -> tuple[ImageOutcome, Digest, str]:
        source = self._client_for(item.source.registry)
        destination = self._client_for(item.destination.registry)
        src, dst = item.source, item.destination
        digest = await self._source_digest(source, src)
        current = await destination.head_manifest(dst.repository, dst.reference)
        if current is not None and current.digest == digest:
            self._log(item, f"up to date: destination already has {digest}")
            return ImageOutcome.UP_TO_DATE, digest, "already up to date"
        shaped: Manifest | None = None
        if self._options.content.active:
            # the destination may hold the reshaped image (attestations dropped): compare with that
            shaped = await shape_for_destination(
                source, src.repository, digest, self._options.content, log=self._logger(item)
            )
            if shaped.digest != digest:
                digest = shaped.digest
                if dst.tag is None:  # an untagged artifact lands under its new digest
                    current = await destination.head_manifest(dst.repository, str(digest))
                if current is not None and current.digest == digest:
                    self._log(item, f"up to date: destination already has {digest}")
                    return ImageOutcome.UP_TO_DATE, digest, "already up to date"
        if current is not None and not self._options.override and dst.digest is None:
            message = (
                f"{already_exists_message(str(dst))}: it points at {current.digest.short}, "
                f"the source at {digest.short}"
            )
            self._log(item, f"skipped: {message}")
            return ImageOutcome.SKIPPED_EXISTS, digest, message
        if self._options.dry_run:
            verb = "replace" if current is not None else "copy"
            return ImageOutcome.COPIED, digest, f"would {verb} ({digest.short})"
        manifest = await self._ensure_manifest(item, digest, shaped)
        if dst.tag is not None:
            await destination.put_manifest(dst.repository, dst.tag, manifest)
            self._log(item, f"tagged {dst.repository}:{dst.tag} → {digest}")
        return ImageOutcome.COPIED, digest, f"copied {digest}"

    async def _source_digest(self, source: RegistryClient, ref: ImageReference) -> Digest:
        if ref.digest is not None:
            return ref.digest
        info = await source.head_manifest(ref.repository, ref.reference)
        if info is None:
            raise NotFound(
                "source image not found",
                context=RequestContext(ref.registry, ref.repository, ref.reference),
                status=404,
                hint="check the repository and tag, e.g. with: skopeo list-tags docker://"
                f"{ref.registry}/{ref.repository}",
            )
        return info.digest

    async def _ensure_manifest(
        self, item: CopyItem, digest: Digest, shaped: Manifest | None = None
    ) -> Manifest:
        """Copy the manifest ``digest`` (and everything it needs) into the destination repository once;
        further tags of the same digest reuse the result. ``shaped`` is the manifest to push when
        it is not the source's own (an index without its attestations)."""
        key = (item.destination.registry, item.destination.repository, digest)
        pending = self._manifests.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Manifest] = asyncio.get_running_loop().create_future()
        self._manifests[key] = future
        try:
            source = self._client_for(item.source.registry)
            manifest = shaped or await source.get_manifest(item.source.repository, str(digest))
            await self._push_content(item, manifest)
            if item.destination.tag is None:
                await self._put_by_digest(item, manifest)
        except BaseException as exc:
            self._abandon(key, future, exc)
            raise
        future.set_result(manifest)
        return manifest

    async def _push_content(self, item: CopyItem, manifest: Manifest) -> None:
        """Everything ``manifest`` references, present in the destination before it is pushed."""
        if manifest.is_index:
            await run_all(self._copy_child(item, child) for child in manifest.children)
            return
        route = BlobRoute(
            source=self._client_for(item.source.registry),
            source_repository=item.source.repository,
            destination=self._client_for(item.destination.registry),
            destination_repository=item.destination.repository,
        )
        log = self._logger(item)
        await run_all(self._blobs.ensure(route, blob, log) for blob in manifest.blobs)

    async def _copy_child(self, item: CopyItem, child: Descriptor) -> None:
        destination = self._client_for(item.destination.registry)
        label = f"{child.digest.short} ({child.platform})" if child.platform else child.digest.short
        async with self._children:
            present = await destination.head_manifest(item.destination.repository, str(child.digest))
        if present is not None:
            self._log(item, f"child manifest {label} already present")
            return
        key = (item.destination.registry, item.destination.repository, child.digest)
        pending = self._manifests.get(key)
        if pending is not None:
            await asyncio.shield(pending)
            return
        future: asyncio.Future[Manifest] = asyncio.get_running_loop().create_future()
        self._manifests[key] = future
        try:
            source = self._client_for(item.source.registry)
            async with self._children:
                manifest = await source.get_manifest(item.source.repository, str(child.digest))
            await self._push_content(item, manifest)
            await self._put_by_digest(item, manifest)
        except BaseException as exc:
            self._abandon(key, future, exc)
            raise
        self._log(item, f"child manifest {label} copied")
        future.set_result(manifest)

    async def _put_by_digest(self, item: CopyItem, manifest: Manifest) -> None:
        destination = self._client_for(item.destination.registry)
        await destination.put_manifest(item.destination.repository, str(manifest.digest), manifest)

    def _abandon(
        self, key: tuple[str, str, Digest], future: asyncio.Future[Manifest], exc: BaseException
    ) -> None:
        """Fail the waiters of a manifest copy; a later image may try again."""
        del self._manifests[key]
        future.set_exception(exc if isinstance(exc, Exception) else FerryError("copy cancelled"))
        future.exception()  # mark retrieved: waiters are optional

    def _logger(self, item: CopyItem) -> Callable[[str], None]:
        return lambda text: self._log(item, text)

    def _log(self, item: CopyItem, text: str) -> None:
        self._emit(LogLine(str(item.destination), text))
