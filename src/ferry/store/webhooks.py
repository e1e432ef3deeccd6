"""Webhook policies in the database; each target's auth header is sealed before it is written."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from ferry.errors import RecordConflict, RecordNotFound
from ferry.replication.domain.webhooks import (
    EventType,
    PayloadFormat,
    TargetType,
    WebhookPolicy,
    WebhookTarget,
    validate_webhook_policy,
)
from ferry.store.database import Database
from ferry.store.schema import WebhookPolicyRow
from ferry.store.secrets import SecretBox


class WebhookStore:
    def __init__(self, database: Database, secrets: SecretBox) -> None:
        self._db = database
        self._secrets = secrets

    async def add(self, policy: WebhookPolicy) -> WebhookPolicy:
        """Store a new webhook policy (its ``id`` is ignored) and return it with the id given."""
        policy = validate_webhook_policy(policy)
        row = WebhookPolicyRow(notify_since=policy.creation_time)
        self._fill(row, policy)
        async with self._db.session() as session:
            session.add(row)
            try:
                await session.commit()
            except SqlIntegrityError as exc:
                raise _name_taken(policy.name) from exc
        return self._to_policy(row)

    async def get(self, policy_id: int) -> WebhookPolicy:
        async with self._db.session() as session:
            row = await session.get(WebhookPolicyRow, policy_id)
            if row is None:
                raise _missing(policy_id)
            return self._to_policy(row)

    async def list_policies(self) -> list[WebhookPolicy]:
        async with self._db.session() as session:
            rows = await session.scalars(select(WebhookPolicyRow).order_by(WebhookPolicyRow.id))
            return [self._to_policy(row) for row in rows]

    async def enabled_policies(self) -> list[tuple[WebhookPolicy, datetime]]:
        """The enabled policies, each with the moment from which executions are announced."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(WebhookPolicyRow).where(WebhookPolicyRow.enabled).order_by(WebhookPolicyRow.id)
            )
            return [(self._to_policy(row), row.notify_since) for row in rows]

    async def update(self, policy: WebhookPolicy) -> WebhookPolicy:
        """Replace every field of the stored policy ``policy.id``. Enabling a disabled policy
        announces only what ends from then on, not what ended while it was off."""
        policy = validate_webhook_policy(policy)
        async with self._db.session() as session:
            row = await session.get(WebhookPolicyRow, policy.id)
            if row is None:
                raise _missing(policy.id)
            if policy.enabled and not row.enabled:
                row.notify_since = policy.update_time
            self._fill(row, policy)
            try:
                await session.commit()
            except SqlIntegrityError as exc:
                raise _name_taken(policy.name) from exc
            return self._to_policy(row)

    async def delete(self, policy_id: int) -> None:
        """Delete the policy with its delivery log."""
        async with self._db.session() as session:
            row = await session.get(WebhookPolicyRow, policy_id)
            if row is None:
                raise _missing(policy_id)
            await session.delete(row)
            await session.commit()

    def _fill(self, row: WebhookPolicyRow, policy: WebhookPolicy) -> None:
        row.name = policy.name
        row.description = policy.description
        row.enabled = policy.enabled
        row.event_types = [kind.value for kind in policy.event_types]
        row.targets = [self._target_json(target) for target in policy.targets]
        row.creator = policy.creator
        row.creation_time = policy.creation_time
        row.update_time = policy.update_time

    def _target_json(self, target: WebhookTarget) -> dict[str, Any]:
        return {
            "type": target.type.value,
            "address": target.address,
            "auth_header_sealed": self._secrets.seal(target.auth_header) if target.auth_header else None,
            "skip_cert_verify": target.skip_cert_verify,
            "payload_format": target.payload_format.value,
        }

    def _to_policy(self, row: WebhookPolicyRow) -> WebhookPolicy:
        return WebhookPolicy(
            id=row.id,
            name=row.name,
            description=row.description,
            enabled=row.enabled,
            event_types=tuple(EventType(kind) for kind in row.event_types),
            targets=tuple(self._to_target(item) for item in row.targets),
            creator=row.creator,
            creation_time=row.creation_time,
            update_time=row.update_time,
        )

    def _to_target(self, item: dict[str, Any]) -> WebhookTarget:
        sealed = item.get("auth_header_sealed")
        return WebhookTarget(
            type=TargetType(item["type"]),
            address=item["address"],
            auth_header=self._secrets.open(sealed) if sealed else "",
            skip_cert_verify=bool(item.get("skip_cert_verify", False)),
            payload_format=PayloadFormat(item.get("payload_format", PayloadFormat.DEFAULT.value)),
        )


def _missing(policy_id: int) -> RecordNotFound:
    return RecordNotFound(
        f"webhook policy {policy_id} not found", hint="list the webhook policies to see their ids"
    )


def _name_taken(name: str) -> RecordConflict:
    return RecordConflict(f"a webhook policy named {name!r} already exists", hint="choose another name")
