"""``ferry serve``: the service (Harbor-compatible API, dispatcher, managed local registry)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ferry.cli.policies import _run_async, _settings, dispatch_options, queue_options, store_options

if TYPE_CHECKING:
    from ferry.server import Ready


@click.command("serve")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for all)."
)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option(
    "--local-registry",
    default="managed",
    show_default=True,
    metavar="managed|URL|none",
    help="`managed` starts a CNCF distribution registry (docker-registry) with its storage in the data "
    "directory and its notifications sent to ferry; a URL attaches to an existing registry; `none` runs "
    "without a local registry (remote-to-remote rules only).",
)
@click.option(
    "--local-registry-port", type=click.IntRange(1, 65535), default=5000, show_default=True,
    help="Port of the managed local registry (127.0.0.1).",
)  # fmt: skip
@click.option(
    "--metrics-auth", is_flag=True,
    help="Ask for the API's sign-in (admin or an API token) at /metrics; without it, /metrics answers "
    "anyone who can reach the port, as Prometheus targets usually do.",
)  # fmt: skip
@store_options
@dispatch_options
@queue_options
def serve(**flags: Any) -> None:
    """Run the ferry service: the web UI at /, the REST API at /api/v2.0 (Harbor-compatible), the
    replication workers, and a local registry.

    \b
    Sign in as `admin`. There is no default password: set FERRY_ADMIN_PASSWORD, or ferry generates
    one on the first start and prints it once. Registry secrets are encrypted with the key in
    FERRY_SECRET_KEY or <data dir>/secret.key.

    \b
    Try it:
      open http://127.0.0.1:8080/ and sign in as admin (the web UI, English or 中文)
      curl -u admin:PASSWORD http://127.0.0.1:8080/api/v2.0/replication/policies
      open http://127.0.0.1:8080/api/v2.0/docs for the API reference
    """
    from ferry.jobs.service import default_data_dir
    from ferry.server import ServerSettings, serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    local = flags["local_registry"]
    settings = ServerSettings(
        data_dir=Path(flags["data_dir"] or default_data_dir(dict(os.environ))),
        host=flags["host"],
        port=flags["port"],
        database_url=flags["database_url"],
        secret_key=os.environ.get("FERRY_SECRET_KEY"),
        admin_password=os.environ.get("FERRY_ADMIN_PASSWORD") or None,
        local_registry=None if local == "none" else local,
        local_registry_port=flags["local_registry_port"],
        dispatcher=_settings(flags),
        task_queue=flags["task_queue"],
        metrics_auth=flags["metrics_auth"],
    )
    _run_async(serve(settings, on_ready=_print_ready))


def _print_ready(ready: Ready) -> None:
    click.echo(f"ferry is running at {ready.url}")
    click.echo(f"  web UI:         {ready.url}/  (sign in as admin)")
    click.echo(f"  API:            {ready.url}/api/v2.0  (reference: {ready.url}/api/v2.0/docs)")
    click.echo(f"  metrics:        {ready.url}/metrics  (Prometheus)")
    click.echo(f"  local registry: {ready.local_registry_url or 'none'}")
    click.echo(f"  data directory: {ready.data_dir}")
    if ready.generated_password:
        click.echo("  sign in as admin with this generated password (shown once; keep it safe):")
        click.echo(f"    admin password: {ready.generated_password}")
        click.echo(f"    curl -u admin:{ready.generated_password} {ready.url}/api/v2.0/replication/policies")
    else:
        click.echo("  sign in as admin with the password set by FERRY_ADMIN_PASSWORD or at the first start")
    click.echo("press Ctrl-C to stop", err=True)
