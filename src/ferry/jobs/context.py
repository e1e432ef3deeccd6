"""What one process needs to run the tasks of one execution: the policy, a client per side, and one
``CopyEngine`` shared by the execution's tasks (shared transfer slots, bandwidth cap, single-flight
blobs and mounts across repositories), with its events routed to the task they belong to."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ferry.distribution.client import RegistryClient
from ferry.errors import InvalidInput
from ferry.jobs.clients import provider_of
from ferry.jobs.recording import MetricsRecorder, NoMetrics
from ferry.oci.reference import ImageReference
from ferry.replication.domain.execution import Task
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.registry import Registry
from ferry.replication.domain.status import TriggerType
from ferry.replication.engine.blobs import ChunkPolicy
from ferry.replication.engine.copier import CopyEngine, CopyItem, CopyOptions
from ferry.replication.engine.progress import BlobDone, BytesMoved, Event, ImageDone, ImageOutcome, LogLine
from ferry.store.tasks import LogEntry

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class TaskProgress:
    """A running task's state between two saves: settled references, bytes, unsaved log lines."""

    task: Task
    clock: Clock = utc_now
    results: dict[str, ImageOutcome] = field(default_factory=dict)
    bytes_copied: int = 0
    pending_log: list[LogEntry] = field(default_factory=list)
    references: dict[str, str] = field(default_factory=dict)
    """destination image string → task reference (tag or digest)."""
    saving: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while the task's progress or end is written, so log lines are saved in order, once."""

    def __post_init__(self) -> None:
        self.results = dict(self.task.results)
        self.bytes_copied = self.task.bytes_copied

    def log(self, text: str, *, level: str = "INFO") -> None:
        self.pending_log.append((self.clock(), f"[{level}] {text}"))

    def drain_log(self) -> list[LogEntry]:
        lines, self.pending_log = self.pending_log, []
        return lines


def speed_to_bytes_per_second(speed_kbit: int) -> int | None:
    """A policy's ``speed`` (Kbit/s, 0 = unlimited) as a byte rate; 1 Kbit = 1000 bits."""
    return speed_kbit * 1000 // 8 if speed_kbit > 0 else None


class ExecutionContext:
    def __init__(
        self,
        policy: Policy,
        source: Registry,
        destination: Registry,
        *,
        concurrency: int,
        chunk_threshold: int | None = None,
        metrics: MetricsRecorder | None = None,
        trigger: TriggerType = TriggerType.MANUAL,
    ) -> None:
        self.policy = policy
        self.trigger = trigger
        self._metrics = metrics or NoMetrics()
        self.source_provider = provider_of(source, observer=self._metrics)
        self.destination_provider = provider_of(destination, observer=self._metrics)
        self.source_host = self.source_provider.registry_host
        self.destination_host = self.destination_provider.registry_host
        self._clients: dict[str, RegistryClient] = {}
        self._clients[self.source_host] = self.source_provider.client()
        if self.destination_host in self._clients and source.credential != destination.credential:
            raise InvalidInput(
                f"the source and destination of rule {policy.name!r} are the same host "
                f"({self.destination_host}) with different credentials",
                hint="use one registry endpoint for both sides, or separate hosts",
            )
        self._clients.setdefault(self.destination_host, self.destination_provider.client())
        options = CopyOptions(
            content=self.destination_provider.content_rules,
            concurrency=concurrency,
            override=policy.override,
            limit_rate=speed_to_bytes_per_second(policy.speed),
            chunks=ChunkPolicy(threshold=0 if policy.copy_by_chunk else chunk_threshold),
        )
        self.engine = CopyEngine(self._client, options, emit=self._route)
        self._by_image: dict[str, TaskProgress] = {}
        self._by_repository: dict[str, TaskProgress] = {}
        self.users = 0

    def _client(self, registry: str) -> RegistryClient:
        return self._clients[registry]

    @property
    def source(self) -> RegistryClient:
        return self._clients[self.source_host]

    @property
    def destination(self) -> RegistryClient:
        return self._clients[self.destination_host]

    def items_for(self, progress: TaskProgress) -> list[CopyItem]:
        """The copy items of the task's references that are not settled yet, registered for routing."""
        task = progress.task
        items = []
        for artifact, reference in task.unsettled_references():
            tag = reference if reference in artifact.tags else None
            digest = None if tag else artifact.digest
            item = CopyItem(
                ImageReference(self.source_host, task.source_repository, tag=tag, digest=digest),
                ImageReference(self.destination_host, task.destination_repository, tag=tag, digest=digest),
            )
            progress.references[str(item.destination)] = reference
            self._by_image[str(item.destination)] = progress
            items.append(item)
        self._by_repository.setdefault(task.destination_repository, progress)
        return items

    def forget(self, progress: TaskProgress) -> None:
        for image in progress.references:
            if self._by_image.get(image) is progress:
                del self._by_image[image]
        if self._by_repository.get(progress.task.destination_repository) is progress:
            del self._by_repository[progress.task.destination_repository]

    def _route(self, event: Event) -> None:
        self._record(event)
        if isinstance(event, LogLine):
            progress = self._by_image.get(event.image)
            if progress is not None:
                progress.log(f"{event.image}: {event.text}")
        elif isinstance(event, ImageDone):
            progress = self._by_image.get(event.destination)
            if progress is not None:
                progress.results[progress.references[event.destination]] = event.outcome
        elif isinstance(event, BytesMoved):
            # counted as the bytes go out, so a running task's progress moves during a big blob
            progress = self._by_repository.get(event.repository)
            if progress is not None:
                progress.bytes_copied += event.amount

    def _record(self, event: Event) -> None:
        if isinstance(event, BytesMoved):
            self._metrics.bytes_sent(event.amount)
        elif isinstance(event, BlobDone):
            self._metrics.blob_done(event.outcome, event.size)
        elif isinstance(event, ImageDone):
            self._metrics.image_done(event.outcome)

    async def prepare(self, repository: str) -> str | None:
        """Make the destination ready for pushes into ``repository`` (an ACR namespace, a Harbor
        project): checked once per namespace and execution, raises when pushing cannot work."""
        return await self.destination_provider.prepare_repository(self.destination, repository)

    async def delete_tag(self, repository: str, tag: str) -> bool:
        """Delete only ``tag`` at the destination through its vendor API, when it has one."""
        return await self.destination_provider.delete_tag(self.destination, repository, tag)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        await self.source_provider.aclose()
        await self.destination_provider.aclose()
