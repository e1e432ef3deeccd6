"""Live progress on a terminal, plain lines elsewhere, and the final summary table (rich)."""

from __future__ import annotations

from collections import Counter
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from ferry.cli.summary import Totals
from ferry.cli.units import format_bytes
from ferry.replication.engine.copier import CopyResult
from ferry.replication.engine.progress import (
    BlobQueued,
    BytesMoved,
    Event,
    ImageDone,
    ImageOutcome,
    ImagePlanned,
)

OUTCOME_LABELS = {
    ImageOutcome.COPIED: "copied",
    ImageOutcome.UP_TO_DATE: "up to date",
    ImageOutcome.SKIPPED_EXISTS: "skipped",
    ImageOutcome.FAILED: "failed",
}
DRY_RUN_LABELS = {**OUTCOME_LABELS, ImageOutcome.COPIED: "would copy"}
OUTCOME_STYLES = {
    ImageOutcome.COPIED: "green",
    ImageOutcome.UP_TO_DATE: "dim",
    ImageOutcome.SKIPPED_EXISTS: "yellow",
    ImageOutcome.FAILED: "bold red",
}


class CountOrTransferColumn(ProgressColumn):
    """``3/10`` for the images row; size done/total and speed for the bytes row."""

    def __init__(self) -> None:
        super().__init__()
        self._count = MofNCompleteColumn()
        self._size = DownloadColumn(binary_units=True)
        self._speed = TransferSpeedColumn()

    def render(self, task: Task) -> Text:
        if not task.fields.get("transfer"):
            return self._count.render(task)
        return Text.assemble(self._size.render(task), "  ", self._speed.render(task))


class ProgressView:
    """Receives engine events. On a terminal it draws bars; otherwise it prints one line per image."""

    def __init__(self, console: Console, *, live: bool, lines: bool) -> None:
        self.console = console
        self.totals = Totals()
        self._lines = lines
        self._progress: Progress | None = None
        self._images: TaskID | None = None
        self._bytes: TaskID | None = None
        self._queued = 0
        if live:
            self._progress = Progress(
                TextColumn("[bold]{task.description:<7}"),
                BarColumn(),
                CountOrTransferColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )

    def __enter__(self) -> ProgressView:
        if self._progress is not None:
            self._progress.start()
            self._images = self._progress.add_task("images", total=0)
            self._bytes = self._progress.add_task("bytes", total=0, transfer=True)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, event: Event) -> None:
        self.totals(event)
        progress = self._progress
        if isinstance(event, BytesMoved):
            if progress is not None and self._bytes is not None:
                progress.advance(self._bytes, event.amount)
        elif isinstance(event, BlobQueued):
            self._queued += event.size
            if progress is not None and self._bytes is not None:
                progress.update(self._bytes, total=self._queued)
        elif isinstance(event, ImagePlanned):
            if progress is not None and self._images is not None:
                total = progress.tasks[self._images].total or 0
                progress.update(self._images, total=total + 1)
        elif isinstance(event, ImageDone):
            if progress is not None and self._images is not None:
                progress.advance(self._images, 1)
            if self._lines:
                label = OUTCOME_LABELS[event.outcome]
                self.console.print(
                    escape(f"{label}: {event.source} → {event.destination}"), highlight=False, soft_wrap=True
                )


def summary_table(results: list[CopyResult], totals: Totals, seconds: float, *, dry_run: bool) -> Table:
    labels = DRY_RUN_LABELS if dry_run else OUTCOME_LABELS
    table = Table(
        title="ferry dry run: nothing was copied" if dry_run else "ferry summary", title_justify="left"
    )
    table.add_column("result")
    table.add_column("images", justify="right")
    counts = Counter(result.outcome for result in results)
    for outcome in ImageOutcome:
        if counts[outcome]:
            table.add_row(f"[{OUTCOME_STYLES[outcome]}]{labels[outcome]}", str(counts[outcome]))
    if not dry_run:
        rate = totals.bytes_sent / seconds if seconds > 0 else 0.0
        blobs = ", ".join(f"{count} {kind}" for kind, count in sorted(totals.blobs.items())) or "none"
        table.add_section()
        table.add_row("bytes sent", f"{format_bytes(totals.bytes_sent)} ({format_bytes(rate)}/s)")
        table.add_row("blobs", blobs)
    table.add_row("time", f"{seconds:.2f} s")
    return table


def details(results: list[CopyResult], *, dry_run: bool) -> list[str]:
    """Rich-markup lines for each image that needs attention (failed, skipped) or, in a dry run,
    every image: source → destination, then why. Lines, not a table, so long reasons stay readable."""
    labels = DRY_RUN_LABELS if dry_run else OUTCOME_LABELS
    attention = (ImageOutcome.FAILED, ImageOutcome.SKIPPED_EXISTS)
    lines = []
    for result in results:
        if not dry_run and result.outcome not in attention:
            continue
        style = OUTCOME_STYLES[result.outcome]
        lines.append(
            f"[{style}]{labels[result.outcome]:>10}[/] {escape(str(result.item.source))} → "
            f"{escape(str(result.item.destination))}"
        )
        if result.message:
            lines.append(f"{'':>11}{escape(result.message)}")
    return lines
