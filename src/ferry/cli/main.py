"""``ferry``: copy and sync container images between registries, fast and digest-exact."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ferry import __version__
from ferry.cli.endpoints import ClientPool, EndpointFlags, registry_options
from ferry.cli.render import ProgressView, details, summary_json, summary_table
from ferry.cli.units import parse_size
from ferry.errors import FerryError, InvalidInput, RegistryError, describe_context
from ferry.oci.reference import ImageReference, RegistryLocation
from ferry.replication.engine.blobs import ChunkPolicy, MiB
from ferry.replication.engine.copier import CopyEngine, CopyItem, CopyOptions, CopyResult
from ferry.replication.engine.progress import ImageOutcome
from ferry.replication.globs import split_pattern_list
from ferry.replication.sync import SyncSpec, plan_sync

app = typer.Typer(
    help=(
        "Copy container images between registries: digest-exact, each layer once, many at a time.\n\n"
        "Examples:\n\n"
        "  ferry copy 127.0.0.1:5000/library/app:v1 registry.example.com/ns/app:v1\n\n"
        "  ferry sync 127.0.0.1:5001/library 127.0.0.1:5002/lgy-images --tag 'prod-*'"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

SrcCreds = Annotated[
    str | None,
    typer.Option(
        "--src-creds",
        envvar="FERRY_SRC_CREDS",
        show_envvar=True,
        help="USER:PASSWORD for the source (default: ~/.docker/config.json).",
    ),
]
DestCreds = Annotated[
    str | None,
    typer.Option(
        "--dest-creds",
        envvar="FERRY_DEST_CREDS",
        show_envvar=True,
        help="USER:PASSWORD for the destination (default: ~/.docker/config.json).",
    ),
]
SrcInsecure = Annotated[
    bool, typer.Option("--src-insecure", help="Skip TLS verification for the source only.")
]
DestInsecure = Annotated[
    bool, typer.Option("--dest-insecure", help="Skip TLS verification for the destination only.")
]
SrcCa = Annotated[
    Path | None, typer.Option("--src-ca", help="PEM CA bundle to verify the source's certificate.")
]
DestCa = Annotated[
    Path | None, typer.Option("--dest-ca", help="PEM CA bundle to verify the destination's certificate.")
]
SrcPlain = Annotated[
    bool,
    typer.Option("--src-plain-http", help="Use plain HTTP for the source (automatic for loopback hosts)."),
]
DestPlain = Annotated[
    bool,
    typer.Option("--dest-plain-http", help="Use plain HTTP for the destination (automatic for loopback)."),
]
Override = Annotated[
    bool,
    typer.Option(
        "--override/--no-override", help="Replace destination tags that point at a different digest."
    ),
]
Concurrency = Annotated[
    int, typer.Option("--concurrency", "-j", min=1, max=256, help="Blob transfers running at once, in total.")
]
LimitRate = Annotated[
    str | None,
    typer.Option("--limit-rate", help="Cap on bytes sent per second for the whole run, e.g. 20M or 100Mbit."),
]
Chunked = Annotated[
    bool, typer.Option("--chunked", help="Upload in resumable chunks (Harbor's copy_by_chunk).")
]
ChunkSize = Annotated[
    str, typer.Option("--chunk-size", help="Chunk size for --chunked and very large blobs.")
]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Show what would be copied or skipped, and why; copy nothing.")
]
Json = Annotated[bool, typer.Option("--json", help="Print a machine-readable summary instead of tables.")]

#: Blobs at least this big always go in resumable chunks, so a broken link costs one chunk, not the blob.
LARGE_BLOB = 2 * 1024 * MiB


@app.command()
def copy(
    source: Annotated[str, typer.Argument(help="host[:port]/repository[:tag|@digest]")],
    destination: Annotated[
        str, typer.Argument(help="host[:port]/repository[:tag]; the tag defaults to the source's")
    ],
    src_creds: SrcCreds = None,
    dest_creds: DestCreds = None,
    src_insecure: SrcInsecure = False,
    dest_insecure: DestInsecure = False,
    src_ca: SrcCa = None,
    dest_ca: DestCa = None,
    src_plain_http: SrcPlain = False,
    dest_plain_http: DestPlain = False,
    override: Override = True,
    concurrency: Concurrency = 8,
    limit_rate: LimitRate = None,
    chunked: Chunked = False,
    chunk_size: ChunkSize = "10M",
    dry_run: DryRun = False,
    json_output: Json = False,
) -> None:
    """Copy one image (every platform of a multi-arch image) from SOURCE to DESTINATION."""

    async def items(pool: ClientPool) -> list[CopyItem]:
        return [CopyItem(src, dst)]

    with _cli_errors():
        src = ImageReference.parse(source)
        dst = _destination_for(src, destination)
        _execute(
            Job(src.registry, dst.registry, items),
            EndpointFlags(src_creds, src_insecure, src_ca, src_plain_http),
            EndpointFlags(dest_creds, dest_insecure, dest_ca, dest_plain_http),
            _copy_options(override, concurrency, limit_rate, chunked, chunk_size, dry_run),
            json_output=json_output,
        )


@app.command()
def sync(
    source: Annotated[str, typer.Argument(help="host[:port][/namespace]: every repository under it")],
    destination: Annotated[str, typer.Argument(help="host[:port]/namespace")],
    name: Annotated[
        list[str] | None,
        typer.Option(
            "--name",
            help="Repository glob, matched against the full path (library/app); repeatable or a comma list.",
        ),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", help="Tag glob to copy; repeatable or a comma list ('prod-*,v*')."),
    ] = None,
    exclude_tag: Annotated[
        list[str] | None, typer.Option("--exclude-tag", help="Tag glob to leave out.")
    ] = None,
    flatten: Annotated[
        int,
        typer.Option(
            "--flatten",
            min=-1,
            help="Leading path components to drop (Harbor's dest_namespace_replace_count): "
            "1 maps library/app to DEST/app, 0 keeps the path, -1 keeps only the last component.",
        ),
    ] = 1,
    src_creds: SrcCreds = None,
    dest_creds: DestCreds = None,
    src_insecure: SrcInsecure = False,
    dest_insecure: DestInsecure = False,
    src_ca: SrcCa = None,
    dest_ca: DestCa = None,
    src_plain_http: SrcPlain = False,
    dest_plain_http: DestPlain = False,
    override: Override = True,
    concurrency: Concurrency = 8,
    limit_rate: LimitRate = None,
    chunked: Chunked = False,
    chunk_size: ChunkSize = "10M",
    dry_run: DryRun = False,
    json_output: Json = False,
) -> None:
    """Copy every matching repository:tag under SOURCE into the DESTINATION namespace.

    Globs follow Harbor: * stays inside one path component, ** crosses them, {a,b} is either.
    """
    with _cli_errors():
        spec = SyncSpec(
            source=RegistryLocation.parse(source),
            destination=RegistryLocation.parse(destination, require_namespace=True),
            names=_split(name),
            tags=_split(tag),
            exclude_tags=_split(exclude_tag),
            flatten=flatten,
        )
        spec.validate()

        async def items(pool: ClientPool) -> list[CopyItem]:
            plan = await plan_sync(pool(spec.source.registry), spec)
            return plan.items

        _execute(
            Job(spec.source.registry, spec.destination.registry, items),
            EndpointFlags(src_creds, src_insecure, src_ca, src_plain_http),
            EndpointFlags(dest_creds, dest_insecure, dest_ca, dest_plain_http),
            _copy_options(override, concurrency, limit_rate, chunked, chunk_size, dry_run),
            json_output=json_output,
        )


@app.command()
def version() -> None:
    """Print ferry's version."""
    typer.echo(f"ferry {__version__}")


@dataclass(frozen=True)
class Job:
    """What to copy: the two registries, and how to list the images once clients exist."""

    source_registry: str
    destination_registry: str
    items: Callable[[ClientPool], Awaitable[list[CopyItem]]]


def run() -> None:
    """Console entry point."""
    app()


@contextmanager
def _cli_errors() -> Iterator[None]:
    """The CLI's edge: ferry's errors become one clear message and exit status 1."""
    try:
        yield
    except FerryError as exc:
        console = Console(stderr=True, highlight=False)
        console.print("[bold red]error:[/] " + escape(exc.message + _where(exc)))
        if exc.hint:
            console.print("[yellow]hint:[/] " + escape(exc.hint))
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        Console(stderr=True).print("[yellow]stopped[/]: interrupted; nothing half-copied was tagged")
        raise typer.Exit(130) from None


def _where(exc: FerryError) -> str:
    if isinstance(exc, RegistryError):
        parts = [describe_context(exc.context)]
        if exc.status is not None:
            parts.append(f"HTTP {exc.status}")
        parts.extend(f"{d.code}: {d.message}" for d in exc.details)
        return " [" + "; ".join(parts) + "]"
    return ""


def _execute(
    job: Job, src_flags: EndpointFlags, dst_flags: EndpointFlags, options: CopyOptions, *, json_output: bool
) -> None:
    console = Console(stderr=True, highlight=False)
    connections = options.concurrency * 2 + 16
    started = time.monotonic()
    view = ProgressView(
        console,
        live=console.is_terminal and not json_output,
        lines=not console.is_terminal and not json_output and not options.dry_run,
    )

    async def main() -> list[CopyResult]:
        pool = ClientPool()
        try:
            pool.add(
                job.source_registry,
                registry_options(job.source_registry, src_flags, max_connections=connections),
            )
            pool.add(
                job.destination_registry,
                registry_options(job.destination_registry, dst_flags, max_connections=connections),
            )
            items = await job.items(pool)
            if not items:
                return []
            with view:
                return await CopyEngine(pool, options, emit=view).copy(items)
        finally:
            await pool.aclose()

    results = asyncio.run(main())
    seconds = time.monotonic() - started
    if json_output:
        typer.echo(summary_json(results, view.totals, seconds, dry_run=options.dry_run))
    elif not results:
        console.print("nothing to copy: no repository:tag matched")
    else:
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
        raise typer.Exit(1)


def _destination_for(src: ImageReference, text: str) -> ImageReference:
    """The destination reference; without a tag it takes the source's tag (or digest)."""
    dst = ImageReference.parse(text)
    last = text.rsplit("/", 1)[-1]
    if dst.digest is not None and dst.digest != src.digest:
        raise InvalidInput(
            "a destination digest must equal the source's", hint="give the destination a tag, or no reference"
        )
    if ":" not in last and "@" not in last:
        return ImageReference(
            dst.registry, dst.repository, tag=src.tag, digest=None if src.tag else src.digest
        )
    return dst


def _copy_options(
    override: bool, concurrency: int, limit_rate: str | None, chunked: bool, chunk_size: str, dry_run: bool
) -> CopyOptions:
    size = parse_size(chunk_size, option="--chunk-size")
    if size < 1 * MiB:
        raise InvalidInput("--chunk-size must be at least 1M", hint="registries expect chunks of megabytes")
    rate = parse_size(limit_rate, option="--limit-rate") if limit_rate else None
    return CopyOptions(
        concurrency=concurrency,
        image_concurrency=max(16, concurrency * 4),
        override=override,
        limit_rate=rate,
        chunks=ChunkPolicy(
            threshold=0 if chunked else LARGE_BLOB, size=size if chunked else max(size, 64 * MiB)
        ),
        dry_run=dry_run,
    )


def _split(values: list[str] | None) -> tuple[str, ...]:
    """Repeatable options that also accept comma lists; braces keep their commas."""
    return tuple(pattern for value in values or () for pattern in split_pattern_list(value))


if __name__ == "__main__":
    run()
