"""``ferry registry add|list|ping|delete``: the registry endpoints of a ferry server."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from ferry.cli.remote import SERVER_HELP, connect, print_table, server_options, stderr_console
from ferry.cli.run import cli_errors
from ferry.errors import InvalidInput
from ferry.providers.settings import SETTING_NAMES
from ferry.replication.domain.registry import RegistryType

REGISTRY_TYPES = tuple(kind.value for kind in RegistryType)
SETTING_FLAGS = ("create_namespace", "drop_attestations")
SETTINGS_FIELD = "provider_settings"


@click.group("registry", epilog=SERVER_HELP)
def registry() -> None:
    """Registry endpoints on the ferry server: where policies copy from and to.

    \b
    Examples:
      ferry registry add harbor-b --url https://harbor-b.example.com --access-key 'robot$ci' \\
          --access-secret-env HARBOR_B_SECRET
      ferry registry add aliyun-acr --type ali-acr \\
          --url https://crpi-xxx.cn-hangzhou.personal.cr.aliyuncs.com \\
          --access-key you@aliyun.com --access-secret-stdin < acr-password.txt
      ferry registry list
      ferry registry ping aliyun-acr
      ferry registry delete harbor-b
    """


@registry.command("add", epilog=SERVER_HELP)
@click.argument("name")
@click.option(
    "--type", "kind", type=click.Choice(REGISTRY_TYPES), default="docker-registry", show_default=True
)
@click.option("--url", required=True, help="Base URL: https://host[:port] (no /v2).")
@click.option("--access-key", default="", help="User name, robot account or access key.")
@click.option(
    "--access-secret-env",
    metavar="VAR",
    help="Read the password or access secret from this environment variable.",
)
@click.option("--access-secret-stdin", is_flag=True, help="Read the password or access secret from stdin.")
@click.option("--insecure", is_flag=True, help="Do not verify the registry's TLS certificate.")
@click.option(
    "--ca-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PEM",
    help="CA certificate(s) that signed the registry's certificate.",
)
@click.option("--description", default="")
@click.option(
    "--provider-setting",
    "provider_settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="A provider setting; repeat for more. Keys: openapi_endpoint, region, instance_id (text); "
    "create_namespace, drop_attestations (true or false). Left out: the provider's default.",
)
@server_options
def add_registry(
    name: str,
    kind: str,
    url: str,
    access_key: str,
    access_secret_env: str | None,
    access_secret_stdin: bool,
    insecure: bool,
    ca_file: Path | None,
    description: str,
    provider_settings: tuple[str, ...],
    **flags: Any,
) -> None:
    """Add the registry endpoint NAME; the server tests the connection and records its health.

    The secret is never a flag (flags show in the process list): give it with
    --access-secret-env VAR or --access-secret-stdin.

    \b
    Provider settings (--provider-setting KEY=VALUE, repeatable), all optional:
      openapi_endpoint=URL    Alibaba ACR: the OpenAPI address; default https://cr.<region>.aliyuncs.com
                              (inside a VPC: https://cr-vpc.<region>.aliyuncs.com)
      region=ID               Alibaba ACR: the region (cn-hangzhou), when the URL does not name it
      instance_id=cri-...     Alibaba ACR enterprise: the instance, when the registry does not name it
      create_namespace=BOOL   create missing namespaces (ACR, needs an AccessKey; default false)
                              or projects (Harbor; default true)
      drop_attestations=BOOL  leave attestation manifests out of pushed indexes, which changes their
                              digest (default true for ACR, which rejects them; false elsewhere)

    \b
    Example: Alibaba ACR signed in with an AccessKey, so that ferry creates the namespaces it
    pushes into:
      ferry registry add aliyun-acr --type ali-acr \\
          --url https://crpi-xxx.cn-hangzhou.personal.cr.aliyuncs.com \\
          --access-key LTAI5t... --access-secret-env ALIBABA_CLOUD_ACCESS_KEY_SECRET \\
          --provider-setting create_namespace=true
    """
    with cli_errors():  # a mistake in a setting is told before the server is asked
        settings = parse_provider_settings(provider_settings)
    with cli_errors(), connect(flags) as api:
        secret = _secret(access_secret_env, from_stdin=access_secret_stdin)
        body = {
            "name": name,
            "type": kind,
            "url": url,
            "description": description,
            "credential": {"type": "basic", "access_key": access_key, "access_secret": secret},
            "insecure": insecure,
            "ca_certificate": _read_ca(ca_file),
        }
        if settings:
            body[SETTINGS_FIELD] = settings
        created = api.get_registry(api.create_registry(body))
        console = stderr_console()
        console.print(f"registry {_name(created)} added (id {created['id']}): {_status(created['status'])}")
        if shown := settings_text(created):
            console.print(f"provider settings: {_escape(shown)}")
        if created["status"] != "healthy":
            try:
                api.ping_registry(int(created["id"]))
            except InvalidInput as exc:
                console.print(f"[yellow]{_escape(str(exc))}[/]")
                console.print(
                    "fix the endpoint with `ferry apply`, or delete it with "
                    f"`ferry registry delete {_escape(name)}`"
                )


@registry.command("list", epilog=SERVER_HELP)
@click.option("--json", "json_output", is_flag=True, help="Print the registries as JSON (secrets masked).")
@server_options
def list_registries(json_output: bool, **flags: Any) -> None:
    """The registry endpoints, with their health as last checked."""
    with cli_errors(), connect(flags) as api:
        registries = api.list_registries()
        if json_output:
            click.echo(json.dumps(registries, indent=2))
            return
        from ferry.cli.executions_render import short_time

        settings = [settings_text(item) for item in registries]
        with_settings = any(settings)  # a column only when some registry has settings
        print_table(
            f"{len(registries)} registry endpoint(s) on {api.url}",
            ("id", "name", "type", "url", "access key", "status", "created")
            + (("provider settings",) if with_settings else ()),
            (
                (
                    str(item["id"]),
                    _escape(str(item["name"])),
                    str(item["type"]),
                    _escape(str(item["url"])),
                    _escape(str((item.get("credential") or {}).get("access_key") or "")),
                    _status(str(item["status"])),
                    short_time(item.get("creation_time")),
                )
                + ((_escape(shown),) if with_settings else ())
                for item, shown in zip(registries, settings, strict=True)
            ),
        )


@registry.command("ping", epilog=SERVER_HELP)
@click.argument("registry_ref", metavar="NAME|ID")
@server_options
def ping_registry(registry_ref: str, **flags: Any) -> None:
    """Test the connection to a registry endpoint with its stored credential.

    Prints "ok", or exits 1 with the server's reason, e.g. `Failed to ping endpoint: unauthorized`.
    """
    with cli_errors(), connect(flags) as api:
        found = api.get_registry(registry_ref)
        api.ping_registry(int(found["id"]))
        click.echo(f"ok: {found['name']} answers at {found['url']} and accepts its credential")


@registry.command("delete", epilog=SERVER_HELP)
@click.argument("registry_ref", metavar="NAME|ID")
@server_options
def delete_registry(registry_ref: str, **flags: Any) -> None:
    """Delete a registry endpoint that no policy uses (delete those policies first)."""
    with cli_errors(), connect(flags) as api:
        found = api.get_registry(registry_ref)
        api.delete_registry(int(found["id"]))
        stderr_console().print(f"registry {_name(found)} (id {found['id']}) deleted")


def parse_provider_settings(items: tuple[str, ...]) -> dict[str, Any]:
    """``--provider-setting KEY=VALUE`` options as the API's ``provider_settings``."""
    known = ", ".join(SETTING_NAMES)
    settings: dict[str, Any] = {}
    for item in items:
        key, equals, value = item.partition("=")
        key = key.strip()
        if not equals:
            raise InvalidInput(
                f"--provider-setting {item!r} is not KEY=VALUE",
                hint=f"e.g. region=cn-hangzhou; keys: {known}",
            )
        if key not in SETTING_NAMES:
            raise InvalidInput(f"--provider-setting: unknown key {key!r}", hint=f"known keys: {known}")
        if key in settings:
            raise InvalidInput(f"--provider-setting: {key} is given twice", hint="give each key once")
        if key in SETTING_FLAGS:
            flag = value.strip().lower()
            if flag not in {"true", "false"}:
                raise InvalidInput(
                    f"--provider-setting {key}={value!r}: not true or false",
                    hint=f"write {key}=true or {key}=false",
                )
            settings[key] = flag == "true"
        else:
            settings[key] = value.strip()
    return settings


def settings_text(registry: dict[str, Any]) -> str:
    """A registry's provider settings that are set, as ``key=value`` words (empty when none)."""
    shown = registry.get(SETTINGS_FIELD) or {}
    return " ".join(
        f"{key}={str(value).lower() if isinstance(value, bool) else value}"
        for key, value in shown.items()
        if value is not None
    )


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _name(registry: dict[str, Any]) -> str:
    return f"[bold]{_escape(str(registry['name']))}[/]"


def _status(status: str) -> str:
    style = {"healthy": "green", "unhealthy": "red"}.get(status, "yellow")
    return f"[{style}]{status}[/]"


def _secret(variable: str | None, *, from_stdin: bool) -> str:
    if variable and from_stdin:
        raise InvalidInput(
            "give the secret one way", hint="use --access-secret-env VAR or --access-secret-stdin, not both"
        )
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if variable:
        if variable not in os.environ:
            raise InvalidInput(
                f"the environment variable {variable} is not set", hint=f"export {variable}=... first"
            )
        return os.environ[variable]
    return ""


def _read_ca(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", hint="give a PEM file") from exc
