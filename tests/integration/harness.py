"""Running ferry's engine against test servers: clients built from a server's endpoint facts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ferry.distribution.client import RegistryClient
from ferry.distribution.options import Credentials, RegistryOptions, RetryPolicy
from ferry.oci.reference import ImageReference
from ferry.replication.engine.copier import CopyEngine, CopyItem, CopyOptions, CopyResult
from ferry.replication.engine.progress import BlobDone, BlobOutcome, BytesMoved, Event, LogLine


class Endpoint(Protocol):
    @property
    def host(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def username(self) -> str | None: ...
    @property
    def password(self) -> str | None: ...
    @property
    def ca_file(self) -> Path | None: ...


FAST_RETRIES = RetryPolicy(attempts=5, base_delay=0.01, max_delay=0.05, max_retry_after=2)


def options_for(endpoint: Endpoint, **overrides: object) -> RegistryOptions:
    credentials = Credentials(endpoint.username, endpoint.password or "") if endpoint.username else None
    values: dict[str, object] = {
        "credentials": credentials,
        "ca_file": endpoint.ca_file,
        "plain_http": endpoint.url.startswith("http://") or None,
        "retry": FAST_RETRIES,
    }
    values.update(overrides)
    return RegistryOptions(**values)  # type: ignore[arg-type]


def ref(endpoint: Endpoint, text: str) -> ImageReference:
    return ImageReference.parse(f"{endpoint.host}/{text}")


@dataclass
class Recorder:
    observer: Callable[[Event], None] | None = None
    events: list[Event] = field(default_factory=list)

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if self.observer is not None:
            self.observer(event)

    @property
    def bytes_sent(self) -> int:
        return sum(event.amount for event in self.events if isinstance(event, BytesMoved))

    def blobs(self, outcome: BlobOutcome) -> list[BlobDone]:
        return [event for event in self.events if isinstance(event, BlobDone) and event.outcome is outcome]

    @property
    def log(self) -> list[str]:
        return [event.text for event in self.events if isinstance(event, LogLine)]


class Harness:
    """One engine run: clients for each endpoint (keyed by host), the engine, and its events."""

    def __init__(
        self,
        *endpoints: Endpoint,
        options: CopyOptions | None = None,
        client_options: dict[str, RegistryOptions] | None = None,
        observer: Callable[[Event], None] | None = None,
    ) -> None:
        self.recorder = Recorder(observer)
        self.clients = {
            endpoint.host: RegistryClient(
                endpoint.host, (client_options or {}).get(endpoint.host) or options_for(endpoint)
            )
            for endpoint in endpoints
        }
        self.engine = CopyEngine(self.client, options or CopyOptions(), emit=self.recorder)

    def client(self, host: str) -> RegistryClient:
        return self.clients[host]

    async def copy(self, items: Sequence[CopyItem]) -> list[CopyResult]:
        try:
            return await self.engine.copy(items)
        finally:
            for client in self.clients.values():
                await client.aclose()


async def copy_images(
    items: Sequence[CopyItem], *endpoints: Endpoint, options: CopyOptions | None = None
) -> tuple[list[CopyResult], Recorder]:
    harness = Harness(*endpoints, options=options)
    results = await harness.copy(items)
    return results, harness.recorder
