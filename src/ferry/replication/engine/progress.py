"""Progress events the engine emits; the CLI renders them and the service records them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class BlobOutcome(StrEnum):
    UPLOADED = "uploaded"
    MOUNTED = "mounted"
    EXISTS = "exists"


class ImageOutcome(StrEnum):
    COPIED = "copied"
    UP_TO_DATE = "up_to_date"
    SKIPPED_EXISTS = "skipped_exists"
    FAILED = "failed"
    DELETED = "deleted"
    """A deletion task's reference, deleted at the destination."""


@dataclass(frozen=True)
class ImagePlanned:
    source: str
    destination: str


@dataclass(frozen=True)
class BytesMoved:
    amount: int
    repository: str = ""
    """The destination repository the bytes are going to (so a task can count its own)."""


@dataclass(frozen=True)
class BlobQueued:
    """A blob that will be uploaded; ``size`` lets a progress bar know the total ahead of time."""

    digest: str
    size: int


@dataclass(frozen=True)
class BlobDone:
    digest: str
    size: int
    outcome: BlobOutcome
    repository: str


@dataclass(frozen=True)
class ImageDone:
    source: str
    destination: str
    outcome: ImageOutcome
    message: str = ""


@dataclass(frozen=True)
class LogLine:
    """A human-readable line for task logs: what was checked, copied, mounted, skipped and why."""

    image: str
    text: str


Event = ImagePlanned | BytesMoved | BlobQueued | BlobDone | ImageDone | LogLine


class ProgressSink(Protocol):
    def __call__(self, event: Event) -> None: ...


def ignore_progress(event: Event) -> None:
    """The default sink."""
