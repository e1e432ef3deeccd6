"""``ferry policy create|list|show|delete``: replication policies (Harbor's rules) on a server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from ferry.cli.remote import (
    SERVER_HELP,
    connect,
    print_table,
    server_options,
    stderr_console,
    stdout_console,
)
from ferry.cli.run import cli_errors
from ferry.errors import InvalidInput

if TYPE_CHECKING:
    from ferry.remote.api import Json


@click.group("policy", epilog=SERVER_HELP)
def policy() -> None:
    """Replication policies on the ferry server: what to copy from where to where, and when.

    \b
    Examples:
      ferry policy create prod-to-aliyun --src Local --dest aliyun-acr --dest-namespace production \\
          --name-filter '**/nms4cloud-*' --tag-filter 'prod-*, v[0-9]*' --event-based
      ferry policy create nightly --src Local --dest harbor-b --cron "0 0 2 * * *"
      ferry policy list
      ferry policy show prod-to-aliyun
      ferry replicate prod-to-aliyun
      ferry policy delete nightly

    To keep policies in git, write them in a rule file and use `ferry apply -f FILE`.
    """


@policy.command("create", epilog=SERVER_HELP)
@click.argument("name")
@click.option(
    "--src",
    "src",
    required=True,
    metavar="Local|REGISTRY",
    help="Source: Local (this ferry's own registry) or a registry endpoint's name or id.",
)
@click.option(
    "--dest",
    "dest",
    required=True,
    metavar="Local|REGISTRY",
    help="Destination: a registry endpoint, or Local to pull.",
)
@click.option(
    "--dest-namespace",
    default="",
    metavar="NS",
    help="Namespace at the destination (empty: keep the source path).",
)
@click.option(
    "--flatten",
    type=click.IntRange(-1, 127),
    default=-1,
    show_default=True,
    help="Leading path components to drop (dest_namespace_replace_count): -1 keeps only the last "
    "component, 0 keeps the whole path, 1 drops one.",
)
@click.option(
    "--name-filter",
    metavar="GLOB",
    help="Repositories, matched against the full path: '**/app-*', 'library/**'.",
)
@click.option("--tag-filter", metavar="GLOB", help="Tags to copy: 'prod-*, v*' (a comma list is either).")
@click.option("--tag-exclude", metavar="GLOB", help="Tags to leave out: '*-rc*'.")
@click.option(
    "--label",
    "labels",
    multiple=True,
    metavar="LABEL",
    help="Copy only artifacts with this label (repeatable: all of them).",
)
@click.option(
    "--no-override",
    is_flag=True,
    help="Skip destination tags that point at another digest instead of replacing them.",
)
@click.option(
    "--deletion", is_flag=True, help="Delete at the destination what is deleted at the source (event-based)."
)
@click.option("--disabled", is_flag=True, help="Create the policy disabled (it can not run until enabled).")
@click.option(
    "--speed",
    type=click.IntRange(0),
    default=0,
    metavar="KBITS",
    help="Bandwidth cap for the whole execution in Kbit/s (0: none).",
)
@click.option("--chunked", is_flag=True, help="Chunked, resumable uploads (copy_by_chunk).")
@click.option("--single-active", is_flag=True, help="Skip a run while another of this policy is in progress.")
@click.option(
    "--cron",
    metavar="CRON",
    help='Run on a schedule: six fields, seconds first ("0 0 2 * * *" is 02:00 daily, UTC).',
)
@click.option(
    "--event-based",
    is_flag=True,
    help="Run when an image is pushed to the source (Local); a remote source is watched for new or "
    "changed tags instead (every 300 s).",
)
@click.option(
    "--poll-interval",
    type=int,
    metavar="SECONDS",
    help="With --event-based: how often to look at the source (30-86400; 0: never).",
)
@click.option("--description", default="")
@server_options
def create_policy(name: str, **options: Any) -> None:
    """Create the replication policy NAME (Harbor's "replication rule")."""
    from ferry.remote.bodies import policy_body
    from ferry.replication.domain.policy import Decoration, Filter, FilterType, Policy, Trigger
    from ferry.replication.domain.status import TriggerType

    with cli_errors(), connect(options) as api:
        if options["cron"] and options["event_based"]:
            raise InvalidInput(
                "a policy runs on a schedule or on events, not both", hint="drop --cron or --event-based"
            )
        filters = []
        if options["name_filter"]:
            filters.append(Filter(FilterType.NAME, options["name_filter"]))
        if options["tag_filter"]:
            filters.append(Filter(FilterType.TAG, options["tag_filter"], Decoration.MATCHES))
        if options["tag_exclude"]:
            filters.append(Filter(FilterType.TAG, options["tag_exclude"], Decoration.EXCLUDES))
        if options["labels"]:
            filters.append(Filter(FilterType.LABEL, tuple(options["labels"]), Decoration.MATCHES))
        trigger = Trigger()
        if options["cron"]:
            trigger = Trigger(TriggerType.SCHEDULED, options["cron"])
        elif options["event_based"]:
            trigger = Trigger(TriggerType.EVENT_BASED, poll_interval=options["poll_interval"])
        elif options["poll_interval"] is not None:
            raise InvalidInput("--poll-interval is for event-based policies", hint="add --event-based")
        now = datetime.now(UTC)
        src_id, dest_id = api.registry_id(options["src"]), api.registry_id(options["dest"])
        value = Policy(
            id=0,
            name=name,
            description=options["description"],
            src_registry_id=src_id,
            dest_registry_id=dest_id,
            dest_namespace=options["dest_namespace"],
            dest_namespace_replace_count=options["flatten"],
            filters=tuple(filters),
            trigger=trigger,
            deletion=options["deletion"],
            override=not options["no_override"],
            enabled=not options["disabled"],
            speed=options["speed"],
            copy_by_chunk=options["chunked"],
            single_active_replication=options["single_active"],
            creation_time=now,
            update_time=now,
        )
        policy_id = api.create_policy(policy_body(value, src_registry_id=src_id, dest_registry_id=dest_id))
        stderr_console().print(
            f"policy {_escape(name)} created (id {policy_id}); run it with `ferry replicate {_escape(name)}`"
        )


@policy.command("list", epilog=SERVER_HELP)
@click.option(
    "--json", "json_output", is_flag=True, help="Print the policies as JSON, as the API shows them."
)
@server_options
def list_policies(json_output: bool, **flags: Any) -> None:
    """The replication policies: direction, namespace, trigger and filters."""
    with cli_errors(), connect(flags) as api:
        policies = api.list_policies()
        if json_output:
            click.echo(json.dumps(policies, indent=2))
            return
        print_table(
            f"{len(policies)} policies on {api.url}",
            ("id", "name", "enabled", "source → destination", "namespace", "trigger", "filters"),
            (
                (
                    str(item["id"]),
                    _escape(str(item["name"])),
                    "yes" if item.get("enabled") else "[yellow]no[/]",
                    _escape(_direction(item)),
                    _escape(_namespace(item)),
                    _escape(_trigger(item)),
                    _escape(_filters(item)),
                )
                for item in policies
            ),
        )


@policy.command("show", epilog=SERVER_HELP)
@click.argument("policy_ref", metavar="NAME|ID")
@click.option("--json", "json_output", is_flag=True, help="Print the policy as the API shows it.")
@server_options
def show_policy(policy_ref: str, json_output: bool, **flags: Any) -> None:
    """One replication policy, every setting."""
    with cli_errors(), connect(flags) as api:
        found = api.get_policy(policy_ref)
        if json_output:
            click.echo(json.dumps(found, indent=2))
            return
        from rich.table import Table

        table = Table(
            title=f"policy {_escape(str(found['name']))} (id {found['id']})",
            title_justify="left",
            show_header=False,
        )
        table.add_column(style="bold")
        table.add_column()
        rows = {
            "description": found.get("description") or "",
            "enabled": _yes(found.get("enabled")),
            "source → destination": _direction(found),
            "destination namespace": _namespace(found),
            "filters": _filters(found) or "none: every repository and tag",
            "trigger": _trigger(found),
            "override": _yes(found.get("override")),
            "deletion": _yes(found.get("deletion")),
            "speed": f"{found['speed']} Kbit/s" if found.get("speed") else "unlimited",
            "chunked uploads": _yes(found.get("copy_by_chunk")),
            "single active execution": _yes(found.get("single_active_replication")),
            "creator": found.get("creator") or "",
            "created": str(found.get("creation_time") or ""),
            "updated": str(found.get("update_time") or ""),
        }
        for key, value in rows.items():
            table.add_row(key, _escape(str(value)))
        stdout_console().print(table)


@policy.command("delete", epilog=SERVER_HELP)
@click.argument("policy_ref", metavar="NAME|ID")
@server_options
def delete_policy(policy_ref: str, **flags: Any) -> None:
    """Delete a replication policy that has no execution in progress."""
    with cli_errors(), connect(flags) as api:
        found = api.get_policy(policy_ref)
        api.delete_policy(int(found["id"]))
        stderr_console().print(f"policy {_escape(str(found['name']))} (id {found['id']}) deleted")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _yes(value: object) -> str:
    return "yes" if value else "no"


def _direction(policy: Json) -> str:
    from ferry.remote.bodies import registry_name

    return f"{registry_name(policy, 'src_registry')} → {registry_name(policy, 'dest_registry')}"


def _namespace(policy: Json) -> str:
    namespace = policy.get("dest_namespace") or "(source path)"
    count = policy.get("dest_namespace_replace_count", -1)
    flattening = {-1: "flatten all levels", 0: "no flattening"}.get(count, f"flatten {count} level(s)")
    return f"{namespace}, {flattening}"


def _trigger(policy: Json) -> str:
    trigger = policy.get("trigger") or {}
    settings = trigger.get("trigger_settings") or {}
    kind = str(trigger.get("type") or "manual")
    if settings.get("cron"):
        zone = settings.get("timezone") or "UTC"
        return f"{kind} {settings['cron']} ({zone})"
    if settings.get("poll_interval"):
        return f"{kind} (source watched every {settings['poll_interval']} s)"
    return kind


def _filters(policy: Json) -> str:
    parts = []
    for item in policy.get("filters") or []:
        value = item.get("value")
        text = ",".join(value) if isinstance(value, list) else str(value)
        negated = "!" if item.get("decoration") == "excludes" else ""
        parts.append(f"{negated}{item.get('type')}={text}")
    return " ".join(parts)
