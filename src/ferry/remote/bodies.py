"""Domain values as the API's request bodies, and which fields differ between a rule file's value
and what the server shows.

A server masks secrets (``*****``), so a secret can be compared only for being set or not; the
rest is compared after both sides went through the same validation (trimmed, defaults filled in).
``provider_settings`` are compared key by key, a ``null`` (the provider's default) and a key left
out being the same.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ferry.config.rulefile import PolicySpec
from ferry.providers.settings import SETTING_NAMES
from ferry.replication.domain.policy import Policy, filter_to_json, validate_policy
from ferry.replication.domain.registry import (
    LOCAL_REGISTRY_ID,
    LOCAL_REGISTRY_NAME,
    Credential,
    ProviderSettings,
    Registry,
)

Json = dict[str, Any]

POLICY_FIELDS = (
    "description",
    "src_registry",
    "dest_registry",
    "dest_namespace",
    "dest_namespace_replace_count",
    "filters",
    "trigger",
    "deletion",
    "override",
    "enabled",
    "speed",
    "copy_by_chunk",
    "single_active_replication",
)


SETTINGS_FIELD = "provider_settings"


def registry_body(registry: Registry) -> Json:
    """``POST /registries``; ``provider_settings`` only when some are set."""
    credential = registry.credential or Credential()
    body: Json = {
        "name": registry.name,
        "type": registry.type.value,
        "url": registry.url,
        "description": registry.description,
        "credential": {
            "type": credential.type.value,
            "access_key": credential.access_key,
            "access_secret": credential.access_secret,
        },
        "insecure": registry.insecure,
        "ca_certificate": registry.ca_certificate,
    }
    if not registry.settings.is_empty:
        body[SETTINGS_FIELD] = registry.settings.to_dict()
    return body


def registry_update_body(registry: Registry) -> Json:
    """``PUT /registries/{id}``: Harbor's flat body. The secret goes along: the file is the truth.
    So do the provider settings, as a whole: a setting the file no longer has goes back to the
    provider's default."""
    credential = registry.credential or Credential()
    return {
        "description": registry.description,
        "url": registry.url,
        "credential_type": credential.type.value,
        "access_key": credential.access_key,
        "access_secret": credential.access_secret,
        "insecure": registry.insecure,
        "ca_certificate": registry.ca_certificate or "",
        SETTINGS_FIELD: registry.settings.to_dict(),
    }


def registry_differences(registry: Registry, shown: Json, *, update_secrets: bool) -> list[str]:
    """The fields of ``registry`` that differ from the server's ``shown``; ``access_secret`` when
    one side has a secret and the other none, or always with ``update_secrets``."""
    credential = registry.credential or Credential()
    shown_credential = shown.get("credential") or {}
    pairs = {
        "url": (registry.url, shown.get("url", "")),
        "description": (registry.description, shown.get("description") or ""),
        "credential.type": (credential.type.value, shown_credential.get("type") or "basic"),
        "credential.access_key": (credential.access_key, shown_credential.get("access_key") or ""),
        "insecure": (registry.insecure, bool(shown.get("insecure"))),
        "ca_certificate": (
            (registry.ca_certificate or "").strip(),
            (shown.get("ca_certificate") or "").strip(),
        ),
    }
    changed = [name for name, (mine, theirs) in pairs.items() if mine != theirs]
    mine, theirs = registry.settings.to_dict(), shown_settings(shown).to_dict()
    changed.extend(f"{SETTINGS_FIELD}.{name}" for name in SETTING_NAMES if mine.get(name) != theirs.get(name))
    has_secret = bool(shown_credential.get("access_secret"))
    if bool(credential.access_secret) != has_secret or (update_secrets and credential.access_secret):
        changed.append("credential.access_secret")
    return changed


def shown_settings(shown: Json) -> ProviderSettings:
    """A registry's ``provider_settings`` as the server shows them (none from a server without)."""
    return ProviderSettings.from_dict(shown.get(SETTINGS_FIELD) or {})


def normalized_policy(spec: PolicySpec) -> Policy:
    """The policy as the server will store it (validated with stand-in registry ids)."""
    src, dest = spec.src_registry, spec.dest_registry
    ids = (0, 1) if src == LOCAL_REGISTRY_NAME else ((1, 0) if dest == LOCAL_REGISTRY_NAME else (1, 2))
    return validate_policy(replace(spec.policy, src_registry_id=ids[0], dest_registry_id=ids[1]))


def policy_body(policy: Policy, *, src_registry_id: int, dest_registry_id: int) -> Json:
    """``POST``/``PUT /replication/policies``: the whole rule, registries as ``{"id": n}``."""
    settings: Json = {"cron": policy.trigger.cron or ""}
    if policy.trigger.timezone:
        settings["timezone"] = policy.trigger.timezone
    if policy.trigger.poll_interval is not None:
        settings["poll_interval"] = policy.trigger.poll_interval
    return {
        "name": policy.name,
        "description": policy.description,
        "src_registry": {"id": src_registry_id},
        "dest_registry": {"id": dest_registry_id},
        "dest_namespace": policy.dest_namespace,
        "dest_namespace_replace_count": policy.dest_namespace_replace_count,
        "filters": [filter_to_json(item) for item in policy.filters],
        "trigger": {"type": policy.trigger.type.value, "trigger_settings": settings},
        "deletion": policy.deletion,
        "override": policy.override,
        "enabled": policy.enabled,
        "speed": policy.speed,
        "copy_by_chunk": policy.copy_by_chunk,
        "single_active_replication": policy.single_active_replication,
    }


def policy_differences(spec: PolicySpec, shown: Json) -> list[str]:
    """The fields of the file's policy that differ from the server's ``shown`` (registries by name)."""
    mine = comparable_policy(
        policy_body(normalized_policy(spec), src_registry_id=0, dest_registry_id=0),
        src=spec.src_registry,
        dest=spec.dest_registry,
    )
    theirs = comparable_policy(
        shown, src=registry_name(shown, "src_registry"), dest=registry_name(shown, "dest_registry")
    )
    return [name for name in POLICY_FIELDS if mine[name] != theirs[name]]


def comparable_policy(shown: Json, *, src: str, dest: str) -> Json:
    trigger = shown.get("trigger") or {}
    settings = trigger.get("trigger_settings") or {}
    values = {name: shown.get(name) for name in POLICY_FIELDS}
    values.update(
        description=shown.get("description") or "",
        src_registry=src,
        dest_registry=dest,
        filters=list(shown.get("filters") or []),
        trigger=(
            trigger.get("type") or "manual",
            settings.get("cron") or "",
            settings.get("timezone") or "",
            settings.get("poll_interval"),
        ),
    )
    return values


def registry_name(policy: Json, side: str) -> str:
    """The name of a policy's ``src_registry``/``dest_registry`` as the server shows it."""
    registry = policy.get(side) or {}
    if registry.get("id") == LOCAL_REGISTRY_ID:
        return LOCAL_REGISTRY_NAME
    return str(registry.get("name") or f"#{registry.get('id')}")
