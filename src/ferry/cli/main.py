"""``ferry``: copy and sync container images between registries, fast and digest-exact.

Built on click directly: typer's start-up imports cost a quarter of a second on every command,
which is most of a no-op re-sync.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ferry import __version__
from ferry.cli.config_commands import apply, export
from ferry.cli.endpoints import ClientPool, EndpointFlags
from ferry.cli.login_commands import login, logout
from ferry.cli.policies import executions, run_policy, worker
from ferry.cli.policy_commands import policy
from ferry.cli.registry_commands import registry
from ferry.cli.replicate_commands import logs, replicate
from ferry.cli.run import Job, cli_errors, copy_options, execute
from ferry.cli.serve import serve
from ferry.errors import InvalidInput
from ferry.oci.reference import ImageReference, RegistryLocation
from ferry.replication.engine.copier import CopyItem
from ferry.replication.globs import split_pattern_list
from ferry.replication.sync import SyncSpec, plan_sync

F = TypeVar("F", bound=Callable[..., Any])


def endpoint_options(function: F) -> F:
    """Credentials, TLS and transfer options shared by ``copy`` and ``sync``."""
    options = [
        click.option(
            "--src-creds",
            envvar="FERRY_SRC_CREDS",
            show_envvar=True,
            metavar="USER:PASSWORD",
            help="Source credentials (default: the host's entry in ~/.docker/config.json).",
        ),
        click.option(
            "--dest-creds",
            envvar="FERRY_DEST_CREDS",
            show_envvar=True,
            metavar="USER:PASSWORD",
            help="Destination credentials (default: the host's entry in ~/.docker/config.json).",
        ),
        click.option("--src-insecure", is_flag=True, help="Skip TLS verification for the source only."),
        click.option("--dest-insecure", is_flag=True, help="Skip TLS verification for the destination only."),
        click.option(
            "--src-ca",
            type=click.Path(path_type=Path),
            metavar="FILE",
            help="PEM CA bundle that signed the source's certificate.",
        ),
        click.option(
            "--dest-ca",
            type=click.Path(path_type=Path),
            metavar="FILE",
            help="PEM CA bundle that signed the destination's certificate.",
        ),
        click.option(
            "--src-plain-http",
            is_flag=True,
            help="Plain HTTP to the source (loopback hosts fall back to it automatically).",
        ),
        click.option(
            "--dest-plain-http",
            is_flag=True,
            help="Plain HTTP to the destination (loopback hosts fall back to it automatically).",
        ),
        click.option(
            "--override/--no-override",
            default=True,
            show_default=True,
            help="Replace destination tags that point at a different digest.",
        ),
        click.option(
            "-j",
            "--concurrency",
            type=click.IntRange(1, 256),
            default=16,
            show_default=True,
            help="Blob transfers running at once, across all images, largest first; as many "
            "again for blobs under 1 MiB, which move beside the big ones.",
        ),
        click.option(
            "--limit-rate",
            metavar="RATE",
            help="Cap on bytes sent per second for the whole run: 20M, 500K, 100Mbit.",
        ),
        click.option("--chunked", is_flag=True, help="Resumable chunked uploads (Harbor's copy_by_chunk)."),
        click.option(
            "--chunk-size",
            default="10M",
            show_default=True,
            metavar="SIZE",
            help="Chunk size for --chunked; blobs of 2 GiB and more always go in 64M chunks.",
        ),
        click.option(
            "--dry-run", is_flag=True, help="Show what would be copied or skipped, and why; copy nothing."
        ),
        click.option("--json", "json_output", is_flag=True, help="Machine-readable summary on stdout."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="ferry")
def cli() -> None:
    """Copy container images between registries: digest-exact, each layer once, many at a time.

    \b
    Examples:
      ferry copy 127.0.0.1:5000/library/app:v1 registry.example.com/ns/app:v1
      ferry sync 127.0.0.1:5001/library 127.0.0.1:5002/lgy-images --tag 'prod-*'
      ferry sync harbor.local/library crpi-x.cn-hangzhou.personal.cr.aliyuncs.com/lgy-images \\
          --name '**/nms4cloud-*' --tag 'prod-*,v*' --dry-run
    """


@cli.command()
@click.argument("source", metavar="SOURCE")
@click.argument("destination", metavar="DEST")
@endpoint_options
def copy(source: str, destination: str, **flags: Any) -> None:
    """Copy one image, every platform of it, from SOURCE to DEST.

    SOURCE is host[:port]/repository[:tag|@digest]; DEST is host[:port]/repository[:tag], and takes
    the source's tag when it has none.
    """
    with cli_errors():
        src = ImageReference.parse(source)
        dst = _destination_for(src, destination)

        async def items(pool: ClientPool) -> list[CopyItem]:
            return [CopyItem(src, dst)]

        _run(Job(src.registry, dst.registry, items), flags)


@cli.command()
@click.argument("source", metavar="SOURCE")
@click.argument("destination", metavar="DEST")
@click.option(
    "--name",
    "names",
    multiple=True,
    metavar="GLOB",
    help="Repository filter on the full path (library/app): '**/app-*', 'library/*'. Repeatable.",
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="GLOB",
    help="Tags to copy: 'prod-*', or a comma list 'prod-*,v*'. Repeatable.",
)
@click.option("--exclude-tag", "exclude_tags", multiple=True, metavar="GLOB", help="Tags to leave out.")
@click.option(
    "--flatten",
    type=click.IntRange(min=-1),
    default=1,
    show_default=True,
    help="Leading path components to drop (Harbor's dest_namespace_replace_count): 1 maps "
    "library/app to DEST/app, 0 keeps the whole path, -1 keeps only the last component.",
)
@endpoint_options
def sync(
    source: str,
    destination: str,
    names: tuple[str, ...],
    tags: tuple[str, ...],
    exclude_tags: tuple[str, ...],
    flatten: int,
    **flags: Any,
) -> None:
    """Copy every matching repository:tag under SOURCE into the DEST namespace.

    SOURCE is host[:port][/namespace]; DEST is host[:port]/namespace. Globs follow Harbor: * and ?
    stay inside one path component, ** crosses them, {a,b} is either, [a-z] is a class.
    Images whose digest already matches are skipped after two HEAD requests.
    """
    with cli_errors():
        spec = SyncSpec(
            source=RegistryLocation.parse(source),
            destination=RegistryLocation.parse(destination, require_namespace=True),
            names=_split(names),
            tags=_split(tags),
            exclude_tags=_split(exclude_tags),
            flatten=flatten,
        )
        spec.validate()

        async def items(pool: ClientPool) -> list[CopyItem]:
            plan = await plan_sync(pool(spec.source.registry), spec)
            return plan.items

        _run(Job(spec.source.registry, spec.destination.registry, items), flags)


@cli.command()
def version() -> None:
    """Print ferry's version."""
    click.echo(f"ferry {__version__}")


cli.add_command(run_policy)
cli.add_command(worker)
cli.add_command(executions)
cli.add_command(serve)
cli.add_command(login)
cli.add_command(logout)
cli.add_command(registry)
cli.add_command(policy)
cli.add_command(replicate)
cli.add_command(logs)
cli.add_command(apply)
cli.add_command(export)


def run() -> None:
    """Console entry point."""
    cli()


def _run(job: Job, flags: dict[str, Any]) -> None:
    execute(
        job,
        EndpointFlags(flags["src_creds"], flags["src_insecure"], flags["src_ca"], flags["src_plain_http"]),
        EndpointFlags(
            flags["dest_creds"], flags["dest_insecure"], flags["dest_ca"], flags["dest_plain_http"]
        ),
        copy_options(
            override=flags["override"],
            concurrency=flags["concurrency"],
            limit_rate=flags["limit_rate"],
            chunked=flags["chunked"],
            chunk_size=flags["chunk_size"],
            dry_run=flags["dry_run"],
        ),
        json_output=flags["json_output"],
    )


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


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    """Repeatable options that also accept comma lists; braces keep their commas."""
    return tuple(pattern for value in values for pattern in split_pattern_list(value))


if __name__ == "__main__":
    run()
