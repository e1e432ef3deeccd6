"""Rule files: registries and replication policies in YAML, kept in git, secrets kept out.

A rule file declares the local registry (``local:``), remote registry endpoints (``registries:``)
and replication policies (``policies:``, or one ``policy:``) with Harbor's field names. A policy
names its registries by name (``Local`` for the local one). Secrets never need to be in the file:
``access_secret_env: NAME`` reads the environment variable ``NAME``. A registry's
``provider_settings:`` holds what its provider needs beyond URL and credential (the API's
``provider_settings``: ``region``, ``drop_attestations``, ...). Unknown keys are errors, so a typo
never silently drops a setting. Every error names the key that is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from ferry.errors import InvalidInput
from ferry.providers.settings import SETTING_NAMES
from ferry.replication.domain.fields import InvalidField
from ferry.replication.domain.policy import Decoration, Filter, FilterType, Policy, Trigger, validate_policy
from ferry.replication.domain.registry import (
    LOCAL_REGISTRY_NAME,
    Credential,
    CredentialType,
    ProviderSettings,
    Registry,
    RegistryType,
    local_registry,
    validate_registry,
)
from ferry.replication.domain.status import TriggerType
from ferry.replication.naming import FLATTEN_ALL


@dataclass(frozen=True)
class PolicySpec:
    """A policy whose registries are still names; the store resolves them to ids."""

    policy: Policy
    src_registry: str
    dest_registry: str


@dataclass(frozen=True)
class RuleFile:
    local: Registry | None
    registries: list[Registry]
    policies: list[PolicySpec]

    def policy_named(self, name: str | None) -> PolicySpec:
        if name is None:
            if len(self.policies) == 1:
                return self.policies[0]
            names = ", ".join(spec.policy.name for spec in self.policies)
            raise InvalidInput(
                f"the rule file declares {len(self.policies)} policies ({names})",
                hint="choose one with --name",
            )
        for spec in self.policies:
            if spec.policy.name == name:
                return spec
        raise InvalidInput(f"the rule file declares no policy named {name!r}", hint="check --name")


_TOP = {"local", "registries", "policies", "policy"}
_REGISTRY = {
    "name",
    "type",
    "url",
    "credential",
    "insecure",
    "ca_certificate",
    "ca_certificate_file",
    "description",
    "provider_settings",
}
_LOCAL = _REGISTRY - {"name", "description", "provider_settings"}
_SETTINGS = set(SETTING_NAMES)
_SETTING_FLAGS = {"create_namespace", "drop_attestations"}
_CREDENTIAL = {"type", "access_key", "access_secret", "access_secret_env"}
_POLICY = {
    "name", "description", "creator", "src_registry", "dest_registry", "dest_namespace",
    "dest_namespace_replace_count", "filters", "trigger", "deletion", "replicate_deletion", "override",
    "enabled", "speed", "copy_by_chunk", "single_active_replication",
}  # fmt: skip
_FILTER = {"type", "value", "decoration"}
_TRIGGER = {"type", "trigger_settings", "cron", "timezone", "poll_interval"}


def load_rule_file(
    path: Path, *, environ: Mapping[str, str], now: datetime, for_server: bool = False
) -> RuleFile:
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidInput(
            f"cannot read the rule file {path}: {exc.strerror}", hint="check the path"
        ) from exc
    return parse_rule_file(
        text, base=path.parent, environ=environ, now=now, source=str(path), for_server=for_server
    )


def parse_rule_file(
    text: str,
    *,
    base: Path,
    environ: Mapping[str, str],
    now: datetime,
    source: str = "the rule file",
    for_server: bool = False,
) -> RuleFile:
    """``for_server``: the file is applied to a ferry server (``ferry apply``), whose local
    registry is its own, so ``Local`` needs no ``local:`` section, and a file may declare
    registries only."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InvalidInput(
            f"{source} is not valid YAML{where}", hint="check indentation and quoting"
        ) from exc
    top = _mapping(document, source, _TOP)
    reader = _Reader(base=base, environ=environ, now=now)
    local = reader.local(top["local"]) if top.get("local") is not None else None
    registries = [
        reader.registry(f"registries[{i}]", item) for i, item in enumerate(_list(top, "registries"))
    ]
    policies_raw = _list(top, "policies")
    if "policy" in top:
        policies_raw = [top["policy"], *policies_raw]
    if not policies_raw and not for_server:
        raise InvalidInput(f"{source} declares no policy", hint="add a `policy:` or `policies:` section")
    policies = [reader.policy(f"policies[{i}]", item) for i, item in enumerate(policies_raw)]
    names = [registry.name for registry in registries]
    for spec in policies:
        for field, name in (("src_registry", spec.src_registry), ("dest_registry", spec.dest_registry)):
            if name != LOCAL_REGISTRY_NAME and name not in names:
                raise InvalidInput(
                    f"policy {spec.policy.name!r}: {field} {name!r} is not declared",
                    hint=f"declare it under `registries:`, or write {LOCAL_REGISTRY_NAME} "
                    "for the local registry",
                )
            if name == LOCAL_REGISTRY_NAME and local is None and not for_server:
                raise InvalidInput(
                    f"policy {spec.policy.name!r} uses the local registry, "
                    "but the file has no `local:` section",
                    hint="add `local: {url: http://127.0.0.1:5000}`",
                )
    return RuleFile(local, registries, policies)


@dataclass(frozen=True)
class _Reader:
    base: Path
    environ: Mapping[str, str]
    now: datetime

    def local(self, raw: object) -> Registry:
        fields = _mapping(raw, "local", _LOCAL)
        return local_registry(
            type=RegistryType(_text(fields, "local.type", default=RegistryType.DOCKER_REGISTRY.value)),
            url=_text(fields, "local.url"),
            now=self.now,
            credential=self.credential("local.credential", fields.get("credential")),
            insecure=_flag(fields, "local.insecure", default=False),
            ca_certificate=self.ca_certificate("local", fields),
        )

    def registry(self, where: str, raw: object) -> Registry:
        fields = _mapping(raw, where, _REGISTRY)
        registry = Registry(
            id=1,
            name=_text(fields, f"{where}.name"),
            type=RegistryType(_text(fields, f"{where}.type", default=RegistryType.DOCKER_REGISTRY.value)),
            url=_text(fields, f"{where}.url"),
            credential=self.credential(f"{where}.credential", fields.get("credential")),
            insecure=_flag(fields, f"{where}.insecure", default=False),
            ca_certificate=self.ca_certificate(where, fields),
            description=_text(fields, f"{where}.description", default=""),
            settings=self.settings(f"{where}.provider_settings", fields.get("provider_settings")),
            creation_time=self.now,
            update_time=self.now,
        )
        try:
            return validate_registry(registry)
        except InvalidField as exc:  # named as the file names it: registries[0].provider_settings.region
            problem = exc.message.removeprefix(f"{exc.field}: ")
            raise InvalidField(f"{where}.{exc.field}", problem, hint=exc.hint or "") from None

    def settings(self, where: str, raw: object) -> ProviderSettings:
        """``provider_settings:``; a key left out, or ``null``, is the provider's default."""
        if raw is None:
            return ProviderSettings()
        fields = _mapping(raw, where, _SETTINGS)
        values: dict[str, Any] = {}
        for key, value in fields.items():
            if value is None:
                continue
            if key in _SETTING_FLAGS:
                values[key] = _as_flag(f"{where}.{key}", value)
            else:
                values[key] = _text(fields, f"{where}.{key}")
        return ProviderSettings.from_dict(values)

    def credential(self, where: str, raw: object) -> Credential | None:
        if raw is None:
            return None
        fields = _mapping(raw, where, _CREDENTIAL)
        secret = _text(fields, f"{where}.access_secret", default="")
        variable = _text(fields, f"{where}.access_secret_env", default="")
        if variable:
            if secret:
                raise InvalidInput(
                    f"{where}: give access_secret or access_secret_env, not both",
                    hint="keep secrets out of files: use access_secret_env",
                )
            if variable not in self.environ:
                raise InvalidInput(
                    f"{where}.access_secret_env: the environment variable {variable} is not set",
                    hint=f"export {variable}=... before running ferry",
                )
            secret = self.environ[variable]
        kind = _text(fields, f"{where}.type", default=CredentialType.BASIC.value)
        return Credential(CredentialType(kind), _text(fields, f"{where}.access_key", default=""), secret)

    def ca_certificate(self, where: str, fields: dict[str, Any]) -> str | None:
        inline = _text(fields, f"{where}.ca_certificate", default="") or None
        file_name = _text(fields, f"{where}.ca_certificate_file", default="")
        if not file_name:
            return inline
        path = self.base / file_name
        try:
            return path.read_text()
        except OSError as exc:
            raise InvalidInput(
                f"{where}.ca_certificate_file: cannot read {path}: {exc.strerror}",
                hint="give a PEM file path relative to the rule file",
            ) from exc

    def policy(self, where: str, raw: object) -> PolicySpec:
        fields = _mapping(raw, where, _POLICY)
        name = _text(fields, f"{where}.name")
        deletion = fields.get("deletion", fields.get("replicate_deletion", False))
        policy = Policy(
            id=0,
            name=name,
            description=_text(fields, f"{where}.description", default=""),
            creator=_text(fields, f"{where}.creator", default=""),
            src_registry_id=0,
            dest_registry_id=1,
            dest_namespace=_text(fields, f"{where}.dest_namespace", default=""),
            dest_namespace_replace_count=_integer(
                fields, f"{where}.dest_namespace_replace_count", default=FLATTEN_ALL
            ),
            filters=tuple(
                self.filter(f"{where}.filters[{i}]", item) for i, item in enumerate(_list(fields, "filters"))
            ),
            trigger=self.trigger(f"{where}.trigger", fields.get("trigger")),
            deletion=_as_flag(f"{where}.deletion", deletion),
            override=_flag(fields, f"{where}.override", default=True),
            enabled=_flag(fields, f"{where}.enabled", default=True),
            speed=_integer(fields, f"{where}.speed", default=0),
            copy_by_chunk=_flag(fields, f"{where}.copy_by_chunk", default=False),
            single_active_replication=_flag(fields, f"{where}.single_active_replication", default=False),
            creation_time=self.now,
            update_time=self.now,
        )
        src = _text(fields, f"{where}.src_registry")
        dest = _text(fields, f"{where}.dest_registry")
        if src == dest:
            raise InvalidInput(
                f"{where}: src_registry and dest_registry are both {src!r}", hint="choose two registries"
            )
        # validate with stand-in ids; the store checks the real ones
        src_id, dest_id = (
            (0, 1) if src == LOCAL_REGISTRY_NAME else ((1, 0) if dest == LOCAL_REGISTRY_NAME else (1, 2))
        )
        validate_policy(replace(policy, src_registry_id=src_id, dest_registry_id=dest_id))
        return PolicySpec(policy, src, dest)

    def filter(self, where: str, raw: object) -> Filter:
        fields = _mapping(raw, where, _FILTER)
        kind = _text(fields, f"{where}.type")
        value = fields.get("value", "")
        if isinstance(value, list):
            value = tuple(str(item) for item in value)
        elif kind == FilterType.LABEL.value and isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        elif not isinstance(value, str):
            raise InvalidInput(f"{where}.value must be a string or a list", hint='e.g. value: "prod-*, v*"')
        decoration = _text(fields, f"{where}.decoration", default="") or None
        try:
            return Filter(FilterType(kind), value, Decoration(decoration) if decoration else None)
        except ValueError as exc:
            raise InvalidInput(
                f"{where}: unknown filter type {kind!r} or decoration {decoration!r}",
                hint="types: name, tag, label, resource; decorations: matches, excludes",
            ) from exc

    def trigger(self, where: str, raw: object) -> Trigger:
        if raw is None:
            return Trigger()
        if isinstance(raw, str):
            raw = {"type": raw}
        fields = _mapping(raw, where, _TRIGGER)
        settings = fields.get("trigger_settings") or {}
        cron = _text(fields, f"{where}.cron", default="") or str(settings.get("cron", "") or "") or None
        kind = _text(fields, f"{where}.type", default=TriggerType.MANUAL.value)
        try:
            trigger_type = TriggerType(kind)
        except ValueError as exc:
            raise InvalidInput(
                f"{where}.type: unknown trigger {kind!r}", hint="use manual, scheduled or event_based"
            ) from exc
        interval = fields.get("poll_interval", settings.get("poll_interval"))
        if interval is not None:
            interval = _integer({"poll_interval": interval}, f"{where}.poll_interval", default=0)
        return Trigger(trigger_type, cron, _text(fields, f"{where}.timezone", default="") or None, interval)


def _mapping(raw: object, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where} must be a mapping of keys to values", hint="check the indentation")
    unknown = sorted(str(key) for key in raw if key not in allowed)
    if unknown:
        raise InvalidInput(
            f"{where}: unknown key(s) {', '.join(unknown)}", hint=f"known keys: {', '.join(sorted(allowed))}"
        )
    return raw


def _list(fields: dict[str, Any], key: str) -> list[Any]:
    value = fields.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(
            f"{key} must be a list", hint=f"write each entry of {key} on a line starting with '- '"
        )
    return value


def _text(fields: dict[str, Any], where: str, *, default: str | None = None) -> str:
    key = where.rsplit(".", 1)[-1]
    value = fields.get(key)
    if value is None:
        if default is None:
            raise InvalidInput(f"{where} is required", hint=f"add `{key}:`")
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput(f"{where} must be text", hint="quote the value")
    return str(value)


def _flag(fields: dict[str, Any], where: str, *, default: bool) -> bool:
    return _as_flag(where, fields.get(where.rsplit(".", 1)[-1], default))


def _as_flag(where: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{where} must be true or false", hint="write true or false without quotes")
    return value


def _integer(fields: dict[str, Any], where: str, *, default: int) -> int:
    value = fields.get(where.rsplit(".", 1)[-1], default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{where} must be a whole number", hint="e.g. 1")
    return value
