"""Running a copy job from the command line: clients, the engine, output and exit status."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import click

from ferry.cli.endpoints import ClientPool, EndpointFlags, registry_options
from ferry.cli.summary import Totals, summary_json
from ferry.cli.units import parse_size
from ferry.errors import FerryError, InvalidInput, RegistryError, describe_context
from ferry.providers import content_rules_for_host
from ferry.replication.engine.blobs import ChunkPolicy, MiB
from ferry.replication.engine.copier import CopyEngine, CopyItem, CopyOptions, CopyResult
from ferry.replication.engine.progress import ImageOutcome, ProgressSink

#: Blobs at least this big always go in resumable chunks, so a broken link costs one chunk, not the blob.
LARGE_BLOB = 2 * 1024 * MiB


@dataclass(frozen=True)
class Job:
    """What to copy: the two registries, and how to list the images once clients exist."""

    source_registry: str
    destination_registry: str
    items: Callable[[ClientPool], Awaitable[list[CopyItem]]]


@contextmanager
def cli_errors() -> Iterator[None]:
    """The CLI's edge: ferry's errors become one clear message and exit status 1."""
    try:
        yield
    except FerryError as exc:
        from rich.console import Console
        from rich.markup import escape

        console = Console(stderr=True, highlight=False)
        console.print("[bold red]error:[/] " + escape(exc.message + _where(exc)))
        if exc.hint:
            console.print("[yellow]hint:[/] " + escape(exc.hint))
        sys.exit(1)
    except KeyboardInterrupt:
        from rich.console import Console

        Console(stderr=True).print("[yellow]stopped[/]: interrupted; nothing half-copied was tagged")
        sys.exit(130)


def copy_options(
    *, override: bool, concurrency: int, limit_rate: str | None, chunked: bool, chunk_size: str, dry_run: bool
) -> CopyOptions:
    size = parse_size(chunk_size, option="--chunk-size")
    if size < 1 * MiB:
        raise InvalidInput("--chunk-size must be at least 1M", hint="registries expect chunks of megabytes")
    rate = parse_size(limit_rate, option="--limit-rate") if limit_rate else None
    return CopyOptions(
        concurrency=concurrency,
        image_concurrency=max(256, concurrency * 16),
        override=override,
        limit_rate=rate,
        chunks=ChunkPolicy(
            threshold=0 if chunked else LARGE_BLOB, size=size if chunked else max(size, 64 * MiB)
        ),
        dry_run=dry_run,
    )


def execute(
    job: Job, src_flags: EndpointFlags, dst_flags: EndpointFlags, options: CopyOptions, *, json_output: bool
) -> None:
    """Run the job, print the outcome, exit 1 when any image failed."""
    started = time.monotonic()
    if json_output:
        # A machine reader gets JSON only; rich (a tenth of a second to import) is never loaded.
        totals = Totals()
        results = asyncio.run(_copy(job, src_flags, dst_flags, options, totals))
        click.echo(summary_json(results, totals, time.monotonic() - started, dry_run=options.dry_run))
        if any(result.outcome is ImageOutcome.FAILED for result in results):
            sys.exit(1)
        return
    _execute_with_progress(job, src_flags, dst_flags, options, started)


def _execute_with_progress(
    job: Job, src_flags: EndpointFlags, dst_flags: EndpointFlags, options: CopyOptions, started: float
) -> None:
    from rich.console import Console

    from ferry.cli.render import ProgressView, details, summary_table

    console = Console(stderr=True, highlight=False)
    view = ProgressView(
        console, live=console.is_terminal, lines=not console.is_terminal and not options.dry_run
    )
    with view:
        results = asyncio.run(_copy(job, src_flags, dst_flags, options, view))
    seconds = time.monotonic() - started
    if not results:
        console.print("nothing to copy: no repository:tag matched")
        return
    out = Console(highlight=False)
    for line in details(results, dry_run=options.dry_run):
        out.print(line, soft_wrap=True)
    out.print(summary_table(results, view.totals, seconds, dry_run=options.dry_run))
    if options.dry_run:
        out.print("dry run: nothing was copied; run again without --dry-run to copy")
    failed = sum(1 for result in results if result.outcome is ImageOutcome.FAILED)
    if failed:
        console.print(
            f"[bold red]{failed} image(s) failed[/]; the reasons are listed above. Fix them and run the same "
            "command again: images already copied are skipped by digest."
        )
        sys.exit(1)


async def _copy(
    job: Job, src_flags: EndpointFlags, dst_flags: EndpointFlags, options: CopyOptions, emit: ProgressSink
) -> list[CopyResult]:
    connections = options.concurrency * 2 + 16
    if not options.content.active:
        options = replace(options, content=content_rules_for_host(job.destination_registry))
    pool = ClientPool()
    try:
        for registry, flags in ((job.source_registry, src_flags), (job.destination_registry, dst_flags)):
            pool.add(registry, registry_options(registry, flags, max_connections=connections))
        # Reaching the destination (and, on loopback, finding out whether it speaks TLS) overlaps
        # with listing the source instead of adding a round trip after it.
        reaching = asyncio.create_task(pool(job.destination_registry).connect())
        try:
            items = await job.items(pool)
        except BaseException:
            reaching.cancel()
            with contextlib.suppress(BaseException):
                await reaching
            raise
        await reaching
        if not items:
            return []
        return await CopyEngine(pool, options, emit=emit).copy(items)
    finally:
        await pool.aclose()


def _where(exc: FerryError) -> str:
    if isinstance(exc, RegistryError):
        parts = [describe_context(exc.context)]
        if exc.status is not None:
            parts.append(f"HTTP {exc.status}")
        parts.extend(f"{d.code}: {d.message}" for d in exc.details)
        return " [" + "; ".join(parts) + "]"
    return ""
