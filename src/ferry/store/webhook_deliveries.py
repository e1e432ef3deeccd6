"""The webhook outbox and delivery log.

Executions and tasks that ended are found by query (the executions table is the outbox); a
``webhook_marks`` row records that a policy has dealt with one, inserted in the same transaction
as its deliveries. The marks' primary key and the deliveries' unique key make that transaction fail
for every process but one, so an event is queued once however many ``ferry serve`` run.

Deliveries are claimed like tasks, in one ``UPDATE ... RETURNING`` with a lease; every attempt is
recorded on the row (``attempts``, ``history``, ``last_error``, ``response_status``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from ferry.replication.domain.execution import Phase
from ferry.replication.domain.status import JobStatus
from ferry.replication.domain.webhooks import (
    AttemptResult,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    EventType,
    NewDelivery,
    PayloadFormat,
    TargetType,
)
from ferry.store.database import Database
from ferry.store.schema import (
    ExecutionRow,
    TaskRow,
    WebhookDeliveryRow,
    WebhookMarkRow,
    WebhookPolicyRow,
)

EXECUTION_MARK = 0
"""The ``task_id`` of a mark (and delivery) that stands for the execution itself."""
_FINAL = [status.value for status in JobStatus if status.is_final]


@dataclass(frozen=True)
class Mark:
    policy_id: int
    execution_id: int
    task_id: int = EXECUTION_MARK


class DeliveryStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    # -- the outbox --------------------------------------------------------------------------------

    async def executions_to_announce(self, policy_id: int, *, since: datetime, limit: int) -> list[int]:
        """Executions that ended at or after ``since`` and that the policy has not dealt with
        (dry runs are never announced)."""
        marked = _marked(policy_id, ExecutionRow.id, EXECUTION_MARK)
        async with self._db.session() as session:
            rows = await session.scalars(
                select(ExecutionRow.id)
                .where(
                    ExecutionRow.phase == Phase.FINISHED.value,
                    ExecutionRow.end_time >= since,
                    ~ExecutionRow.dry_run,
                    ~marked,
                )
                .order_by(ExecutionRow.id)
                .limit(limit)
            )
            return list(rows)

    async def tasks_to_announce(
        self, policy_id: int, *, since: datetime, limit: int, execution_id: int | None = None
    ) -> list[tuple[int, int]]:
        """(execution id, task id) of tasks that ended at or after ``since``, not yet dealt with by
        the policy: of one execution, or of every execution still running."""
        marked = _marked(policy_id, TaskRow.execution_id, TaskRow.id)
        which = (
            TaskRow.execution_id == execution_id
            if execution_id is not None
            else ExecutionRow.phase != Phase.FINISHED.value
        )
        async with self._db.session() as session:
            rows = await session.execute(
                select(TaskRow.execution_id, TaskRow.id)
                .join(ExecutionRow, ExecutionRow.id == TaskRow.execution_id)
                .where(
                    which,
                    ~ExecutionRow.dry_run,
                    TaskRow.status.in_(_FINAL),
                    TaskRow.end_time >= since,
                    ~marked,
                )
                .order_by(TaskRow.id)
                .limit(limit)
            )
            return [(execution, task) for execution, task in rows]

    async def enqueue(
        self, marks: Sequence[Mark], deliveries: Sequence[NewDelivery], *, now: datetime
    ) -> bool:
        """Record the marks and queue the deliveries, all or nothing. False when another process
        did it first (or the execution was deleted meanwhile)."""
        async with self._db.session() as session:
            session.add_all(
                WebhookMarkRow(
                    policy_id=mark.policy_id,
                    execution_id=mark.execution_id,
                    task_id=mark.task_id,
                    marked_at=now,
                )
                for mark in marks
            )
            session.add_all(_new_row(delivery, now) for delivery in deliveries)
            try:
                await session.commit()
            except SqlIntegrityError:
                await session.rollback()
                return False
            return True

    # -- deliveries --------------------------------------------------------------------------------

    async def claim(self, owner: str, *, now: datetime, lease_until: datetime, limit: int) -> list[Delivery]:
        """Due deliveries of enabled policies (pending, or left by a process whose lease lapsed),
        claimed for ``owner``; each claim counts as an attempt."""
        enabled = select(WebhookPolicyRow.id).where(WebhookPolicyRow.enabled)
        candidates = (
            select(WebhookDeliveryRow.id)
            .where(
                WebhookDeliveryRow.status == DeliveryStatus.PENDING.value,
                WebhookDeliveryRow.next_try <= now,
                WebhookDeliveryRow.owner.is_(None) | (WebhookDeliveryRow.lease_until < now),
                WebhookDeliveryRow.policy_id.in_(enabled),
            )
            .order_by(WebhookDeliveryRow.next_try, WebhookDeliveryRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("candidates")
            .prefix_with("MATERIALIZED")
        )
        async with self._db.session() as session:
            rows = await session.scalars(
                update(WebhookDeliveryRow)
                .where(
                    WebhookDeliveryRow.id.in_(select(candidates.c.id)),
                    WebhookDeliveryRow.status == DeliveryStatus.PENDING.value,
                )
                .values(
                    owner=owner,
                    lease_until=lease_until,
                    attempts=WebhookDeliveryRow.attempts + 1,
                    update_time=now,
                )
                .returning(WebhookDeliveryRow)
            )
            claimed = [to_delivery(row) for row in rows]
            await session.commit()
            return sorted(claimed, key=lambda delivery: delivery.id)

    async def record_attempt(
        self, delivery_id: int, owner: str, result: AttemptResult, *, now: datetime, next_try: datetime | None
    ) -> bool:
        """Record how an attempt went: Success, Pending again until ``next_try``, or Failed when
        no ``next_try`` is given. False when the claim was lost (another process took it over)."""
        async with self._db.session() as session:
            row = await session.get(WebhookDeliveryRow, delivery_id, with_for_update=True)
            if row is None or row.owner != owner or row.status != DeliveryStatus.PENDING.value:
                return False
            if result.delivered:
                row.status = DeliveryStatus.SUCCESS.value
                row.next_try = None
            elif next_try is not None:
                row.next_try = next_try
            else:
                row.status = DeliveryStatus.FAILED.value
                row.next_try = None
            row.owner = None
            row.lease_until = None
            row.last_error = result.error
            row.response_status = result.response_status
            row.history = [
                *row.history,
                {"time": now.isoformat(), "response_status": result.response_status, "error": result.error},
            ]
            row.update_time = now
            await session.commit()
            return True

    async def list_deliveries(self, policy_id: int, *, offset: int, limit: int) -> tuple[list[Delivery], int]:
        """A page of the policy's deliveries, newest first, and how many there are."""
        condition = WebhookDeliveryRow.policy_id == policy_id
        async with self._db.session() as session:
            total = await session.scalar(
                select(func.count()).select_from(WebhookDeliveryRow).where(condition)
            )
            rows = await session.scalars(
                select(WebhookDeliveryRow)
                .where(condition)
                .order_by(WebhookDeliveryRow.id.desc())
                .offset(offset)
                .limit(limit)
            )
            return [to_delivery(row) for row in rows], int(total or 0)


def _marked(policy_id: int, execution_id: Any, task_id: Any) -> Any:
    return (
        select(WebhookMarkRow.policy_id)
        .where(
            WebhookMarkRow.policy_id == policy_id,
            WebhookMarkRow.execution_id == execution_id,
            WebhookMarkRow.task_id == task_id,
        )
        .exists()
    )


def _new_row(delivery: NewDelivery, now: datetime) -> WebhookDeliveryRow:
    return WebhookDeliveryRow(
        policy_id=delivery.policy_id,
        target_index=delivery.target_index,
        target_type=delivery.target.type.value,
        address=delivery.target.address,
        payload_format=delivery.target.payload_format.value,
        event_type=delivery.event_type.value,
        execution_id=delivery.execution_id,
        task_id=delivery.task_id,
        payload=delivery.payload,
        status=DeliveryStatus.PENDING.value,
        attempts=0,
        next_try=now,
        last_error="",
        history=[],
        creation_time=now,
        update_time=now,
    )


def to_delivery(row: WebhookDeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        policy_id=row.policy_id,
        target_index=row.target_index,
        target_type=TargetType(row.target_type),
        address=row.address,
        payload_format=PayloadFormat(row.payload_format),
        event_type=EventType(row.event_type),
        execution_id=row.execution_id,
        task_id=row.task_id,
        payload=row.payload,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_try=row.next_try,
        last_error=row.last_error,
        response_status=row.response_status,
        history=tuple(
            DeliveryAttempt(
                datetime.fromisoformat(item["time"]), item.get("response_status"), item.get("error", "")
            )
            for item in row.history or []
        ),
        creation_time=row.creation_time,
        update_time=row.update_time,
    )
