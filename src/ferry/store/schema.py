"""The tables. Alembic migrations (``migrations/``) create them; this module is what code queries.

Times are stored as timezone-aware UTC (``UtcDateTime``). Statuses are the stored words of
``replication.domain.status`` (Harbor's job-service vocabulary). The local registry (id 0) is never
stored: a policy's ``src_registry_id``/``dest_registry_id`` is NULL for it, so the foreign keys can
refuse to delete a registry a policy still uses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012


class RegistryRow(Base):
    __tablename__ = "registries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(512))
    credential_type: Mapped[str | None] = mapped_column(String(16))
    access_key: Mapped[str] = mapped_column(String(1024), default="")
    access_secret_sealed: Mapped[str | None] = mapped_column(Text)
    insecure: Mapped[bool] = mapped_column(Boolean, default=False)
    ca_certificate: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    provider_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    creation_time: Mapped[datetime]
    update_time: Mapped[datetime]


class PolicyRow(Base):
    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    creator: Mapped[str] = mapped_column(String(256), default="")
    src_registry_id: Mapped[int | None] = mapped_column(ForeignKey("registries.id", ondelete="RESTRICT"))
    dest_registry_id: Mapped[int | None] = mapped_column(ForeignKey("registries.id", ondelete="RESTRICT"))
    dest_namespace: Mapped[str] = mapped_column(String(512), default="")
    dest_namespace_replace_count: Mapped[int] = mapped_column(Integer)
    filters: Mapped[list[Any]] = mapped_column(JSON)
    trigger_type: Mapped[str] = mapped_column(String(16))
    trigger_cron: Mapped[str | None] = mapped_column(String(128))
    trigger_timezone: Mapped[str | None] = mapped_column(String(64))
    trigger_poll_interval: Mapped[int | None] = mapped_column(Integer)
    deletion: Mapped[bool] = mapped_column(Boolean)
    override: Mapped[bool] = mapped_column(Boolean)
    enabled: Mapped[bool] = mapped_column(Boolean)
    speed: Mapped[int] = mapped_column(Integer)
    copy_by_chunk: Mapped[bool] = mapped_column(Boolean)
    single_active_replication: Mapped[bool] = mapped_column(Boolean)
    creation_time: Mapped[datetime]
    update_time: Mapped[datetime]


class ExecutionRow(Base):
    """``phase`` is the dispatcher's view: ``planning`` (the source is being listed; claimable like
    a task), ``running`` (tasks exist), ``finished``. ``exclusive`` marks an execution of a policy
    with single_active_replication; the partial unique index admits one unfinished such execution
    per policy, so two simultaneous starts cannot both win."""

    __tablename__ = "executions"
    __table_args__ = (
        Index(
            "uq_executions_one_active",
            "policy_id",
            unique=True,
            sqlite_where=text("exclusive AND phase <> 'finished'"),
            postgresql_where=text("exclusive AND phase <> 'finished'"),
        ),
        Index("ix_executions_policy_id_id", "policy_id", "id"),
        Index("ix_executions_phase", "phase"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    status_text: Mapped[str] = mapped_column(Text, default="")
    trigger: Mapped[str] = mapped_column(String(16))
    phase: Mapped[str] = mapped_column(String(16))
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str | None] = mapped_column(String(256))
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_of: Mapped[int | None] = mapped_column(Integer)
    bytes_copied: Mapped[int] = mapped_column(BigInteger, default=0)
    start_time: Mapped[datetime]
    end_time: Mapped[datetime | None]
    scope: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """An event-based execution's limits: {"action", "repository", "tags", "digests"}; NULL otherwise."""


class TaskRow(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_execution_id_id", "execution_id", "id"),
        Index("ix_tasks_status_not_before", "status", "not_before"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("executions.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    status_text: Mapped[str] = mapped_column(Text, default="")
    operation: Mapped[str] = mapped_column(String(16))
    resource_type: Mapped[str] = mapped_column(String(16))
    source_repository: Mapped[str] = mapped_column(String(512))
    destination_repository: Mapped[str] = mapped_column(String(512))
    src_resource: Mapped[str] = mapped_column(Text)
    dst_resource: Mapped[str] = mapped_column(Text)
    artifacts: Mapped[list[Any]] = mapped_column(JSON)
    """[{"digest": ..., "tags": [...]}]: what the plan said to copy, fixed at planning time."""
    results: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """reference → outcome of the artifacts already settled (kept across retries and restarts)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime]
    owner: Mapped[str | None] = mapped_column(String(256))
    lease_until: Mapped[datetime | None]
    bytes_copied: Mapped[int] = mapped_column(BigInteger, default=0)
    start_time: Mapped[datetime | None]
    end_time: Mapped[datetime | None]


class TaskLogRow(Base):
    __tablename__ = "task_logs"
    __table_args__ = (Index("ix_task_logs_task_id_id", "task_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    logged_at: Mapped[datetime]
    line: Mapped[str] = mapped_column(Text)


class AccountRow(Base):
    """A user who signs in to the API; today only ``admin``. The password is a salted slow hash."""

    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(Text)
    creation_time: Mapped[datetime]
    update_time: Mapped[datetime]


class ApiTokenRow(Base):
    """A named API token for scripts and CI. Only its SHA-256 is kept: the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    creation_time: Mapped[datetime]
    last_used_time: Mapped[datetime | None]


class ScheduleFireRow(Base):
    """One fire of a scheduled policy: the cron time it stands for, and the execution it started.
    A process claims a fire by inserting its row; the unique (policy, fire time) pair lets exactly
    one of several processes win, whatever their timing."""

    __tablename__ = "schedule_fires"
    __table_args__ = (UniqueConstraint("policy_id", "fire_time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"))
    fire_time: Mapped[datetime]
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("executions.id", ondelete="SET NULL"))
    created: Mapped[datetime]


class WebhookPolicyRow(Base):
    """An outgoing webhook policy (Harbor's shape). ``targets`` is a JSON list whose auth headers
    are sealed (``auth_header_sealed``) like registry secrets. ``notify_since``: executions that
    ended before the policy was created or last enabled are not announced."""

    __tablename__ = "webhook_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean)
    event_types: Mapped[list[Any]] = mapped_column(JSON)
    targets: Mapped[list[Any]] = mapped_column(JSON)
    creator: Mapped[str] = mapped_column(String(256), default="")
    notify_since: Mapped[datetime]
    creation_time: Mapped[datetime]
    update_time: Mapped[datetime]


class WebhookMarkRow(Base):
    """The outbox's bookkeeping: (policy, execution, task) was looked at and its deliveries, if any,
    were queued. ``task_id`` 0 stands for the execution itself. Inserted in the same transaction
    as the deliveries, so with several processes exactly one queues them."""

    __tablename__ = "webhook_marks"
    __table_args__ = (Index("ix_webhook_marks_execution_id", "execution_id"),)

    policy_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_policies.id", ondelete="CASCADE"), primary_key=True
    )
    execution_id: Mapped[int] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    task_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    marked_at: Mapped[datetime]


class WebhookDeliveryRow(Base):
    """One event for one target, and how sending it went. A row being sent carries ``owner`` and
    ``lease_until``; a process that dies mid-send leaves a lapsed lease another one reclaims."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("policy_id", "target_index", "event_type", "execution_id", "task_id"),
        Index("ix_webhook_deliveries_status_next_try", "status", "next_try"),
        Index("ix_webhook_deliveries_execution_id", "execution_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("webhook_policies.id", ondelete="CASCADE"))
    target_index: Mapped[int] = mapped_column(Integer)
    target_type: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(2048))
    payload_format: Mapped[str] = mapped_column(String(16))
    event_type: Mapped[str] = mapped_column(String(32))
    execution_id: Mapped[int] = mapped_column(ForeignKey("executions.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try: Mapped[datetime | None]
    owner: Mapped[str | None] = mapped_column(String(256))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    response_status: Mapped[int | None] = mapped_column(Integer)
    history: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """[{"time", "response_status", "error"}]: one entry per attempt."""
    creation_time: Mapped[datetime]
    update_time: Mapped[datetime]


class EventRow(Base):
    """A received artifact event (a registry notification or a Harbor webhook). ``key`` is unique,
    so a redelivered event is recognised and ignored. ``handled_time`` is set in the transaction that
    starts the event's executions; until then the event is pending (and survives a restart)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_handled_time", "handled_time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    sender: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    repository: Mapped[str] = mapped_column(String(512))
    tag: Mapped[str | None] = mapped_column(String(128))
    digest: Mapped[str | None] = mapped_column(String(160))
    registry_id: Mapped[int | None] = mapped_column(Integer)
    source_host: Mapped[str | None] = mapped_column(String(256))
    received_time: Mapped[datetime]
    handled_time: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(Text, default="")


class WatchRow(Base):
    """The watcher's state for one watched policy (``replication.domain.watch``). A process claims a
    round with one conditional UPDATE that sets ``round_time``, ``round_version`` and a new
    ``round_token``, so several processes run each round once; the round's results are saved only
    while the token is still its own. ``baseline_version`` is the policy's ``update_time`` when its
    baseline (``watched_tags``) was taken: a policy changed since gets a full round."""

    __tablename__ = "watches"

    policy_id: Mapped[int] = mapped_column(
        ForeignKey("policies.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    round_time: Mapped[datetime | None]
    round_version: Mapped[datetime | None]
    round_token: Mapped[str | None] = mapped_column(String(64))
    baseline_version: Mapped[datetime | None]
    last_round_time: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")


class WatchedTagRow(Base):
    """A tag of a watched policy's source as its last round saw it: the digest it pointed at."""

    __tablename__ = "watched_tags"
    __table_args__ = (UniqueConstraint("policy_id", "repository", "tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"))
    repository: Mapped[str] = mapped_column(String(512))
    tag: Mapped[str] = mapped_column(String(128))
    digest: Mapped[str] = mapped_column(String(160))
    seen_time: Mapped[datetime]
