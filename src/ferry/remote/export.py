"""``ferry export``: a server's registries and policies as a rule file ``ferry apply`` accepts.

Secrets are never written: each registry with a secret gets ``access_secret_env:
FERRY_SECRET_<NAME>``, and the comment at the top lists the variables to set. The output depends
only on the registries and policies (no URL, time or id), so exporting, applying to an empty server
and exporting again gives the same file.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from ferry.remote.api import Json
from ferry.remote.bodies import SETTINGS_FIELD, registry_name, shown_settings

SECRET_PREFIX = "FERRY_SECRET_"


def secret_variable(name: str, taken: set[str]) -> str:
    """``FERRY_SECRET_<NAME_UPPER_SNAKE>``, unique among ``taken``."""
    stem = SECRET_PREFIX + (re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper() or "REGISTRY")
    variable, number = stem, 2
    while variable in taken:
        variable, number = f"{stem}_{number}", number + 1
    taken.add(variable)
    return variable


def export_rule_file(registries: list[Json], policies: list[Json]) -> str:
    variables: list[tuple[str, str]] = []
    taken: set[str] = set()
    shaped_registries = []
    for item in sorted(registries, key=lambda shown: str(shown["name"])):
        shaped, variable = _registry(item, taken)
        shaped_registries.append(shaped)
        if variable:
            variables.append((variable, str(item["name"])))
    shaped_policies = [_policy(item) for item in sorted(policies, key=lambda shown: str(shown["name"]))]
    header = [
        "# ferry rule file, written by `ferry export`; apply it with `ferry apply -f FILE`.",
        "# Secrets are not in this file.",
    ]
    if variables:
        header.append("# Set these environment variables before `ferry apply`:")
        header.extend(
            f"#   export {variable}=...   # secret of registry {name}" for variable, name in variables
        )
    document = {"registries": shaped_registries, "policies": shaped_policies}
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(header) + "\n" + body


def _registry(shown: Json, taken: set[str]) -> tuple[dict[str, Any], str | None]:
    shaped: dict[str, Any] = {"name": shown["name"], "type": shown["type"], "url": shown["url"]}
    if shown.get("description"):
        shaped["description"] = shown["description"]
    credential = shown.get("credential") or {}
    variable = None
    if credential.get("access_key") or credential.get("access_secret"):
        entry: dict[str, Any] = {}
        if (credential.get("type") or "basic") != "basic":
            entry["type"] = credential["type"]
        entry["access_key"] = credential.get("access_key") or ""
        if credential.get("access_secret"):
            variable = secret_variable(str(shown["name"]), taken)
            entry["access_secret_env"] = variable
        shaped["credential"] = entry
    if shown.get("insecure"):
        shaped["insecure"] = True
    if shown.get("ca_certificate"):
        shaped["ca_certificate"] = str(shown["ca_certificate"]).strip() + "\n"
    settings = shown_settings(shown)
    if not settings.is_empty:
        shaped[SETTINGS_FIELD] = settings.to_dict()
    return shaped, variable


def _policy(shown: Json) -> dict[str, Any]:
    trigger = shown.get("trigger") or {}
    settings = trigger.get("trigger_settings") or {}
    shaped_trigger: dict[str, Any] = {"type": trigger.get("type") or "manual"}
    if settings.get("cron"):
        shaped_trigger["cron"] = settings["cron"]
    if settings.get("timezone"):
        shaped_trigger["timezone"] = settings["timezone"]
    if settings.get("poll_interval") is not None:
        shaped_trigger["poll_interval"] = settings["poll_interval"]
    shaped: dict[str, Any] = {"name": shown["name"]}
    if shown.get("description"):
        shaped["description"] = shown["description"]
    shaped.update(
        src_registry=registry_name(shown, "src_registry"),
        dest_registry=registry_name(shown, "dest_registry"),
        dest_namespace=shown.get("dest_namespace") or "",
        dest_namespace_replace_count=shown.get("dest_namespace_replace_count", -1),
        filters=list(shown.get("filters") or []),
        trigger=shaped_trigger,
        override=bool(shown.get("override")),
        deletion=bool(shown.get("deletion")),
        enabled=bool(shown.get("enabled")),
    )
    for name, default in (("speed", 0), ("copy_by_chunk", False), ("single_active_replication", False)):
        if shown.get(name, default) != default:
            shaped[name] = shown[name]
    return shaped


class _Dumper(yaml.SafeDumper):
    """Block style, and PEM certificates as ``|`` blocks rather than one quoted line."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)
