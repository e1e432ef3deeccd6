"""``ferry apply`` and ``ferry export``: a server's registries and policies as a rule file in git."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ferry.cli.remote import SERVER_HELP, connect, server_options, stderr_console, stdout_console
from ferry.cli.run import cli_errors

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from ferry.remote.api import FerryApi
    from ferry.remote.apply import ApplyPlan

SYMBOLS = {
    "create": "[green]+ create[/]",
    "update": "[yellow]~ update[/]",
    "unchanged": "[dim]= unchanged[/]",
    "delete": "[red]- delete[/]",
}


@click.command("apply", epilog=SERVER_HELP)
@click.option(
    "-f", "--file", "rule_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="The rule file (YAML): registries and policies, as `ferry run-policy` reads it.",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option("--prune", is_flag=True, help="Also delete policies and registries the file does not declare.")
@click.option(
    "--update-secrets",
    is_flag=True,
    help="Send every registry's secret again, even when nothing else about it changed.",
)
@server_options
def apply(rule_file: Path, dry_run: bool, prune: bool, update_secrets: bool, **flags: Any) -> None:
    """Make the server's registries and policies match a rule file: create what is missing, update
    what differs, leave the rest. Applying the same file again changes nothing.

    \b
    Registries and policies are matched by name. Secrets stay out of the file: write
    `access_secret_env: VAR` and export VAR. The server never shows a stored secret, so a
    registry counts as changed only when another field differs or a secret is added or
    removed; after rotating a password, run with --update-secrets to send it. (A registry
    that is updated for another reason gets the file's secret too.) A `local:` section is
    ignored: policies with `Local` use the server's own registry.

    \b
    Examples:
      export ACR_PASSWORD=...
      ferry apply -f examples/aliyun-guide.yaml --dry-run
      ferry apply -f ferry.yaml
      ferry apply -f ferry.yaml --prune       # also delete what the file no longer declares
      ferry export -o ferry.yaml              # the other way round
    """
    from ferry.config.rulefile import load_rule_file
    from ferry.remote.apply import execute_plan, plan_apply

    with cli_errors():
        rules = load_rule_file(rule_file, environ=dict(os.environ), now=datetime.now(UTC), for_server=True)
        with connect(flags) as api:
            registries, policies = api.list_registries(), api.list_policies()
            plan = plan_apply(rules, registries, policies, update_secrets=update_secrets, prune=prune)
            err = stderr_console()
            if rules.local is not None:
                err.print(
                    "[yellow]note:[/] the file's `local:` section is ignored: the server uses its own "
                    "local registry for `Local`"
                )
            out = stdout_console()
            out.print(f"changes to {api.url}" + (" (dry run: nothing is changed)" if dry_run else ""))
            out.print(_table(plan))
            if dry_run:
                err.print(f"dry run: nothing was changed; {_counts(plan)}")
                return
            execute_plan(api, plan, registries=registries)
            err.print(f"applied: {_counts(plan, done=True)}")
            _warn_unhealthy(api, plan, err)


@click.command("export", epilog=SERVER_HELP)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
    help="Write the rule file here (default: standard output).",
)  # fmt: skip
@server_options
def export(output: Path | None, **flags: Any) -> None:
    """Write the server's registries and policies as a rule file `ferry apply` accepts.

    \b
    Secrets are never written: each registry with a secret gets
    `access_secret_env: FERRY_SECRET_<NAME>`, and the comment at the top lists the
    variables to set before applying the file elsewhere.

    \b
    Examples:
      ferry export -o ferry.yaml && git add ferry.yaml
      ferry export --server http://old:8080 | ferry apply --server http://new:8080 -f /dev/stdin
    """
    from ferry.remote.export import export_rule_file

    with cli_errors(), connect(flags) as api:
        registries, policies = api.list_registries(), api.list_policies()
        text = export_rule_file(registries, policies)
        if output is None:
            click.echo(text, nl=False)
            return
        output.write_text(text)
        stderr_console().print(
            f"wrote {output}: {len(registries)} registry endpoint(s), {len(policies)} policies"
        )


def _table(plan: ApplyPlan) -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("change", "kind", "name", "fields"):
        table.add_column(column)
    for change in plan.changes:
        table.add_row(
            SYMBOLS[change.action.value],
            change.kind.value,
            escape(change.name),
            escape(", ".join(change.fields)),
        )
    return table


def _counts(plan: ApplyPlan, *, done: bool = False) -> str:
    from ferry.remote.apply import Action

    words = {
        Action.CREATE: "created" if done else "to create",
        Action.UPDATE: "updated" if done else "to update",
        Action.DELETE: "deleted" if done else "to delete",
        Action.UNCHANGED: "unchanged",
    }
    return ", ".join(f"{plan.count(action)} {word}" for action, word in words.items())


def _warn_unhealthy(api: FerryApi, plan: ApplyPlan, console: Console) -> None:
    """The server pinged every registry it created or updated; say which it could not reach."""
    from rich.markup import escape

    from ferry.remote.apply import Action, Kind

    touched = {c.name for c in plan.pending if c.kind is Kind.REGISTRY and c.action is not Action.DELETE}
    for item in api.list_registries() if touched else []:
        if item["name"] in touched and item.get("status") != "healthy":
            console.print(
                f"[yellow]warning:[/] registry {escape(str(item['name']))} is {item.get('status')}; "
                f"`ferry registry ping {escape(str(item['name']))}` says why"
            )
