"""``ferry apply``: make a server's registries and policies match a rule file.

Planning compares by name and changes nothing; applying then creates and updates registries first
(policies refer to them), then policies, and with ``prune`` deletes what the file does not declare,
policies before the registries they use. Applying the same file twice changes nothing the second
time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ferry.config.rulefile import PolicySpec, RuleFile
from ferry.errors import InvalidInput
from ferry.remote.api import FerryApi, Json
from ferry.remote.bodies import (
    normalized_policy,
    policy_body,
    policy_differences,
    registry_body,
    registry_differences,
    registry_update_body,
)
from ferry.replication.domain.registry import LOCAL_REGISTRY_ID, LOCAL_REGISTRY_NAME, Registry


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    DELETE = "delete"


class Kind(StrEnum):
    REGISTRY = "registry"
    POLICY = "policy"


@dataclass(frozen=True)
class Change:
    kind: Kind
    name: str
    action: Action
    fields: tuple[str, ...] = ()
    registry: Registry | None = field(default=None, repr=False)
    policy: PolicySpec | None = None
    shown: Json | None = field(default=None, repr=False)
    """The server's current value, for updates and deletions."""


@dataclass(frozen=True)
class ApplyPlan:
    changes: list[Change]

    @property
    def pending(self) -> list[Change]:
        return [change for change in self.changes if change.action is not Action.UNCHANGED]

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action is action)


def plan_apply(
    rules: RuleFile,
    registries: list[Json],
    policies: list[Json],
    *,
    update_secrets: bool = False,
    prune: bool = False,
) -> ApplyPlan:
    """What applying ``rules`` to a server holding ``registries`` and ``policies`` would change."""
    stored_registries = {str(item["name"]): item for item in registries}
    stored_policies = {str(item["name"]): item for item in policies}
    changes: list[Change] = []
    for registry in rules.registries:
        shown = stored_registries.get(registry.name)
        if shown is None:
            changes.append(Change(Kind.REGISTRY, registry.name, Action.CREATE, registry=registry))
            continue
        if shown.get("type") != registry.type.value:
            raise InvalidInput(
                f"registry {registry.name!r} is of type {shown.get('type')} on the server but "
                f"{registry.type.value} in the file; a registry's type cannot be changed",
                hint=f"delete it on the server first (`ferry registry delete {registry.name}`, after "
                "the policies that use it), or give it another name in the file",
            )
        fields = registry_differences(registry, shown, update_secrets=update_secrets)
        action = Action.UPDATE if fields else Action.UNCHANGED
        changes.append(Change(Kind.REGISTRY, registry.name, action, tuple(fields), registry, shown=shown))
    for spec in rules.policies:
        normalized_policy(spec)  # a bad policy fails before anything is changed
        shown = stored_policies.get(spec.policy.name)
        if shown is None:
            changes.append(Change(Kind.POLICY, spec.policy.name, Action.CREATE, policy=spec))
            continue
        fields = policy_differences(spec, shown)
        action = Action.UPDATE if fields else Action.UNCHANGED
        changes.append(Change(Kind.POLICY, spec.policy.name, action, tuple(fields), policy=spec, shown=shown))
    if prune:
        declared_policies = {spec.policy.name for spec in rules.policies}
        declared_registries = {registry.name for registry in rules.registries}
        changes.extend(
            Change(Kind.POLICY, name, Action.DELETE, shown=shown)
            for name, shown in stored_policies.items()
            if name not in declared_policies
        )
        changes.extend(
            Change(Kind.REGISTRY, name, Action.DELETE, shown=shown)
            for name, shown in stored_registries.items()
            if name not in declared_registries
        )
    return ApplyPlan(changes)


def execute_plan(api: FerryApi, plan: ApplyPlan, *, registries: list[Json]) -> None:
    """Carry out ``plan`` in its order; ``registries`` are the server's before the plan."""
    ids = {str(item["name"]): int(item["id"]) for item in registries}
    ids[LOCAL_REGISTRY_NAME] = LOCAL_REGISTRY_ID
    for change in plan.pending:
        if change.kind is Kind.REGISTRY and change.registry is not None:
            if change.action is Action.CREATE:
                ids[change.name] = api.create_registry(registry_body(change.registry))
            elif change.shown is not None:
                api.update_registry(int(change.shown["id"]), registry_update_body(change.registry))
        elif change.kind is Kind.POLICY and change.policy is not None:
            body = policy_body(
                normalized_policy(change.policy),
                src_registry_id=_registry_id(ids, change.policy.src_registry),
                dest_registry_id=_registry_id(ids, change.policy.dest_registry),
            )
            if change.action is Action.CREATE:
                api.create_policy(body)
            elif change.shown is not None:
                api.update_policy(int(change.shown["id"]), body)
        elif change.action is Action.DELETE and change.shown is not None:
            if change.kind is Kind.POLICY:
                api.delete_policy(int(change.shown["id"]))
            else:
                api.delete_registry(int(change.shown["id"]))


def _registry_id(ids: dict[str, int], name: str) -> int:
    try:
        return ids[name]
    except KeyError:
        raise InvalidInput(
            f"registry {name!r} is neither in the file nor on the server",
            hint="declare it under `registries:`",
        ) from None
