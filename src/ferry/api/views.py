"""Domain values as Harbor's API shows them: the same field names, status words and time format,
secrets masked. Plain functions over the domain, shared by the API and the command line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from ferry.replication.domain.execution import Execution, Task
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.registry import (
    LOCAL_REGISTRY_ID,
    LOCAL_REGISTRY_NAME,
    ProviderSettings,
    Registry,
    RegistryType,
)
from ferry.replication.domain.schedule import next_fire
from ferry.store.policies import filter_to_json


def harbor_time(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a ``Z``, as Harbor writes times."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value else None


def registry_json(registry: Registry) -> dict[str, Any]:
    shown = registry.masked()
    credential = shown.credential
    return {
        "id": shown.id,
        "name": shown.name,
        "description": shown.description,
        "type": shown.type.value,
        "url": shown.url,
        "credential": {
            "type": credential.type.value if credential else "basic",
            "access_key": credential.access_key if credential else "",
            "access_secret": credential.access_secret if credential else "",
        },
        "insecure": shown.insecure,
        "ca_certificate": shown.ca_certificate or "",
        "provider_settings": asdict(shown.settings),
        "status": shown.status.value,
        "creation_time": harbor_time(shown.creation_time),
        "update_time": harbor_time(shown.update_time),
    }


def local_registry_json(local: Registry | None) -> dict[str, Any]:
    """Harbor shows the local side of a policy as registry 0, "Local"."""
    if local is not None:
        return registry_json(local)
    return {
        "id": LOCAL_REGISTRY_ID,
        "name": LOCAL_REGISTRY_NAME,
        "description": "no local registry is attached to this ferry",
        "type": RegistryType.DOCKER_REGISTRY.value,
        "url": "",
        "credential": {"type": "basic", "access_key": "", "access_secret": ""},
        "insecure": False,
        "ca_certificate": "",
        "provider_settings": asdict(ProviderSettings()),
        "status": "unknown",
        "creation_time": None,
        "update_time": None,
    }


def policy_json(
    policy: Policy, registries: Mapping[int, dict[str, Any]], *, now: datetime | None = None
) -> dict[str, Any]:
    """``registries`` maps ids to their JSON (``registry_json``/``local_registry_json``). ferry adds
    ``next_scheduled_time``: the next fire after ``now`` (the current time when not given) of an
    enabled scheduled policy, else null."""
    trigger_settings: dict[str, Any] = {"cron": policy.trigger.cron or ""}
    if policy.trigger.timezone:
        trigger_settings["timezone"] = policy.trigger.timezone
    if policy.trigger.poll_interval is not None:
        trigger_settings["poll_interval"] = policy.trigger.poll_interval
    return {
        "id": policy.id,
        "name": policy.name,
        "description": policy.description,
        "creator": policy.creator,
        "src_registry": registries.get(policy.src_registry_id),
        "dest_registry": registries.get(policy.dest_registry_id),
        "dest_namespace": policy.dest_namespace,
        "dest_namespace_replace_count": policy.dest_namespace_replace_count,
        "trigger": {"type": policy.trigger.type.value, "trigger_settings": trigger_settings},
        "filters": [filter_to_json(item) for item in policy.filters],
        "deletion": policy.deletion,
        "replicate_deletion": policy.deletion,
        "override": policy.override,
        "enabled": policy.enabled,
        "speed": policy.speed,
        "copy_by_chunk": policy.copy_by_chunk,
        "single_active_replication": policy.single_active_replication,
        "creation_time": harbor_time(policy.creation_time),
        "update_time": harbor_time(policy.update_time),
        "next_scheduled_time": harbor_time(next_fire(policy, after=now or datetime.now(UTC))),
    }


def execution_json(execution: Execution) -> dict[str, Any]:
    """An execution with Harbor's fields, plus ferry's ``bytes_copied``."""
    counts = execution.counts
    return {
        "id": execution.id,
        "policy_id": execution.policy_id,
        "status": execution.api_status.value,
        "status_text": execution.status_text,
        "trigger": execution.trigger.value,
        "total": counts.total,
        "succeed": counts.succeed,
        "failed": counts.failed,
        "in_progress": counts.in_progress,
        "stopped": counts.stopped,
        "start_time": harbor_time(execution.start_time),
        "end_time": harbor_time(execution.end_time),
        "bytes_copied": execution.bytes_copied,
    }


def task_json(task: Task) -> dict[str, Any]:
    """A task with Harbor's fields, plus ferry's per-item counts and attempts."""
    counts = task.counts
    return {
        "id": task.id,
        "execution_id": task.execution_id,
        "job_id": task.job_id,
        "status": task.api_status.value,
        "status_text": task.status_text,
        "operation": task.operation.value,
        "resource_type": task.resource_type,
        "src_resource": task.src_resource,
        "dst_resource": task.dst_resource,
        "start_time": harbor_time(task.start_time),
        "end_time": harbor_time(task.end_time),
        "attempts": task.attempts,
        "bytes_copied": task.bytes_copied,
        "copied": counts.copied,
        "up_to_date": counts.up_to_date,
        "skipped_exists": counts.skipped_exists,
        "items_failed": counts.failed,
        "deleted": counts.deleted,
    }
