"""What a server shows after a rule file was applied to it, made with the API's own views."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ferry.api.views import local_registry_json, policy_json, registry_json
from ferry.config.rulefile import RuleFile, parse_rule_file
from ferry.remote.bodies import normalized_policy
from ferry.replication.domain.registry import LOCAL_REGISTRY_ID, LOCAL_REGISTRY_NAME, RegistryStatus

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def rules(text: str, **environ: str) -> RuleFile:
    return parse_rule_file(text, base=Path("."), environ=environ, now=NOW, for_server=True)


def server_state(applied: RuleFile) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(registries, policies)`` as ``GET /registries`` and ``GET /replication/policies`` show them."""
    shown = {
        index: registry_json(replace(registry, id=index, status=RegistryStatus.HEALTHY))
        for index, registry in enumerate(applied.registries, start=1)
    }
    ids = {item["name"]: index for index, item in shown.items()} | {LOCAL_REGISTRY_NAME: LOCAL_REGISTRY_ID}
    with_local = {**shown, LOCAL_REGISTRY_ID: local_registry_json(None) | {"name": LOCAL_REGISTRY_NAME}}
    policies = [
        policy_json(
            replace(
                normalized_policy(spec),
                id=index,
                src_registry_id=ids[spec.src_registry],
                dest_registry_id=ids[spec.dest_registry],
            ),
            with_local,
        )
        for index, spec in enumerate(applied.policies, start=1)
    ]
    return list(shown.values()), policies
