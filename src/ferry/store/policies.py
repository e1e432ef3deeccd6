"""Replication policies in the database. Filters are stored as Harbor's JSON filter list."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from ferry.errors import InvalidInput, PreconditionFailed, RecordConflict, RecordNotFound
from ferry.replication.domain.execution import Phase
from ferry.replication.domain.policy import (
    Decoration,
    Filter,
    FilterType,
    Policy,
    Trigger,
    validate_policy,
)
from ferry.replication.domain.policy import filter_to_json as filter_to_json  # the API's views import it here
from ferry.replication.domain.registry import LOCAL_REGISTRY_ID
from ferry.replication.domain.status import TriggerType
from ferry.store.database import Database
from ferry.store.registries import registry_reference
from ferry.store.schema import ExecutionRow, PolicyRow, RegistryRow


class PolicyStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, policy: Policy) -> Policy:
        """Store a new policy (its ``id`` is ignored); its registries must exist."""
        policy = validate_policy(replace(policy, id=0))
        row = PolicyRow()
        _fill(row, policy)
        async with self._db.session() as session:
            await _check_registries_exist(session, policy)
            session.add(row)
            try:
                await session.commit()
            except SqlIntegrityError as exc:
                raise _name_taken(policy.name) from exc
            return _to_policy(row)

    async def get(self, policy_id: int) -> Policy:
        async with self._db.session() as session:
            row = await session.get(PolicyRow, policy_id)
            if row is None:
                raise _missing(policy_id)
            return _to_policy(row)

    async def find_by_name(self, name: str) -> Policy | None:
        async with self._db.session() as session:
            row = await session.scalar(select(PolicyRow).where(PolicyRow.name == name))
            return None if row is None else _to_policy(row)

    async def list_policies(self) -> list[Policy]:
        async with self._db.session() as session:
            return [
                _to_policy(row) for row in await session.scalars(select(PolicyRow).order_by(PolicyRow.id))
            ]

    async def update(self, policy: Policy) -> Policy:
        """Replace the stored policy ``policy.id`` (Harbor's PUT replaces the whole policy)."""
        policy = validate_policy(policy)
        async with self._db.session() as session:
            row = await session.get(PolicyRow, policy.id)
            if row is None:
                raise _missing(policy.id)
            await _check_registries_exist(session, policy)
            _fill(row, replace(policy, creation_time=row.creation_time))
            try:
                await session.commit()
            except SqlIntegrityError as exc:
                raise _name_taken(policy.name) from exc
            return _to_policy(row)

    async def delete(self, policy_id: int) -> None:
        """Delete a policy and its executions; refused while one of them is unfinished."""
        async with self._db.session() as session:
            row = await session.get(PolicyRow, policy_id)
            if row is None:
                raise _missing(policy_id)
            running = await session.scalar(
                select(ExecutionRow.id).where(
                    ExecutionRow.policy_id == policy_id, ExecutionRow.phase != Phase.FINISHED.value
                )
            )
            if running is not None:
                raise PreconditionFailed(
                    f"replication rule {row.name!r} has a running execution ({running})",
                    hint=f"stop execution {running} and wait for it to end, then delete the rule",
                )
            await session.delete(row)
            await session.commit()


async def _check_registries_exist(session: Any, policy: Policy) -> None:
    for field, registry_id in (
        ("src_registry", policy.src_registry_id),
        ("dest_registry", policy.dest_registry_id),
    ):
        if registry_id != LOCAL_REGISTRY_ID and await session.get(RegistryRow, registry_id) is None:
            raise InvalidInput(
                f"{field}: registry {registry_id} does not exist",
                hint="create the registry endpoint first, or use 0 for the local registry",
            )


def _fill(row: PolicyRow, policy: Policy) -> None:
    row.name = policy.name
    row.description = policy.description
    row.creator = policy.creator
    row.src_registry_id = registry_reference(policy.src_registry_id)
    row.dest_registry_id = registry_reference(policy.dest_registry_id)
    row.dest_namespace = policy.dest_namespace
    row.dest_namespace_replace_count = policy.dest_namespace_replace_count
    row.filters = [filter_to_json(item) for item in policy.filters]
    row.trigger_type = policy.trigger.type.value
    row.trigger_cron = policy.trigger.cron
    row.trigger_timezone = policy.trigger.timezone
    row.trigger_poll_interval = policy.trigger.poll_interval
    row.deletion = policy.deletion
    row.override = policy.override
    row.enabled = policy.enabled
    row.speed = policy.speed
    row.copy_by_chunk = policy.copy_by_chunk
    row.single_active_replication = policy.single_active_replication
    row.creation_time = policy.creation_time
    row.update_time = policy.update_time


def _to_policy(row: PolicyRow) -> Policy:
    return Policy(
        id=row.id,
        name=row.name,
        description=row.description,
        creator=row.creator,
        src_registry_id=row.src_registry_id or LOCAL_REGISTRY_ID,
        dest_registry_id=row.dest_registry_id or LOCAL_REGISTRY_ID,
        dest_namespace=row.dest_namespace,
        dest_namespace_replace_count=row.dest_namespace_replace_count,
        filters=tuple(filter_from_json(item) for item in row.filters),
        trigger=Trigger(
            TriggerType(row.trigger_type), row.trigger_cron, row.trigger_timezone, row.trigger_poll_interval
        ),
        deletion=row.deletion,
        override=row.override,
        enabled=row.enabled,
        speed=row.speed,
        copy_by_chunk=row.copy_by_chunk,
        single_active_replication=row.single_active_replication,
        creation_time=row.creation_time,
        update_time=row.update_time,
    )


def filter_from_json(shaped: dict[str, Any]) -> Filter:
    value = shaped.get("value", "")
    decoration = shaped.get("decoration")
    return Filter(
        FilterType(shaped["type"]),
        tuple(value) if isinstance(value, list) else value,
        Decoration(decoration) if decoration else None,
    )


def _missing(policy_id: int) -> RecordNotFound:
    return RecordNotFound(f"replication rule {policy_id} not found", hint="list the rules to see their ids")


def _name_taken(name: str) -> RecordConflict:
    return RecordConflict(f"a replication rule named {name!r} already exists", hint="choose another name")
