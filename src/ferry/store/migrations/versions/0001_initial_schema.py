"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 04:22:59.552439

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""

    op.create_table(
        "registries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=512), nullable=False),
        sa.Column("credential_type", sa.String(length=16), nullable=True),
        sa.Column("access_key", sa.String(length=1024), nullable=False),
        sa.Column("access_secret_sealed", sa.Text(), nullable=True),
        sa.Column("insecure", sa.Boolean(), nullable=False),
        sa.Column("ca_certificate", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("creation_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registries")),
        sa.UniqueConstraint("name", name=op.f("uq_registries_name")),
    )
    op.create_table(
        "policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("creator", sa.String(length=256), nullable=False),
        sa.Column("src_registry_id", sa.Integer(), nullable=True),
        sa.Column("dest_registry_id", sa.Integer(), nullable=True),
        sa.Column("dest_namespace", sa.String(length=512), nullable=False),
        sa.Column("dest_namespace_replace_count", sa.Integer(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("trigger_type", sa.String(length=16), nullable=False),
        sa.Column("trigger_cron", sa.String(length=128), nullable=True),
        sa.Column("trigger_timezone", sa.String(length=64), nullable=True),
        sa.Column("deletion", sa.Boolean(), nullable=False),
        sa.Column("override", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("speed", sa.Integer(), nullable=False),
        sa.Column("copy_by_chunk", sa.Boolean(), nullable=False),
        sa.Column("single_active_replication", sa.Boolean(), nullable=False),
        sa.Column("creation_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dest_registry_id"],
            ["registries.id"],
            name=op.f("fk_policies_dest_registry_id_registries"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["src_registry_id"],
            ["registries.id"],
            name=op.f("fk_policies_src_registry_id_registries"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sa.UniqueConstraint("name", name=op.f("uq_policies_name")),
    )
    op.create_table(
        "executions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_text", sa.Text(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("stop_requested", sa.Boolean(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(length=256), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retry_of", sa.Integer(), nullable=True),
        sa.Column("bytes_copied", sa.BigInteger(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_executions_policy_id_policies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_executions")),
    )
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.create_index("ix_executions_phase", ["phase"], unique=False)
        batch_op.create_index("ix_executions_policy_id_id", ["policy_id", "id"], unique=False)
        batch_op.create_index(
            "uq_executions_one_active",
            ["policy_id"],
            unique=True,
            sqlite_where=sa.text("exclusive AND phase <> 'finished'"),
            postgresql_where=sa.text("exclusive AND phase <> 'finished'"),
        )

    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_text", sa.Text(), nullable=False),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("resource_type", sa.String(length=16), nullable=False),
        sa.Column("source_repository", sa.String(length=512), nullable=False),
        sa.Column("destination_repository", sa.String(length=512), nullable=False),
        sa.Column("src_resource", sa.Text(), nullable=False),
        sa.Column("dst_resource", sa.Text(), nullable=False),
        sa.Column("artifacts", sa.JSON(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner", sa.String(length=256), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bytes_copied", sa.BigInteger(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name=op.f("fk_tasks_execution_id_executions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index("ix_tasks_execution_id_id", ["execution_id", "id"], unique=False)
        batch_op.create_index("ix_tasks_status_not_before", ["status", "not_before"], unique=False)

    op.create_table(
        "task_logs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_logs_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_logs")),
    )
    with op.batch_alter_table("task_logs", schema=None) as batch_op:
        batch_op.create_index("ix_task_logs_task_id_id", ["task_id", "id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""

    with op.batch_alter_table("task_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_task_logs_task_id_id")

    op.drop_table("task_logs")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_status_not_before")
        batch_op.drop_index("ix_tasks_execution_id_id")

    op.drop_table("tasks")
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_executions_one_active",
            sqlite_where=sa.text("exclusive AND phase <> 'finished'"),
            postgresql_where=sa.text("exclusive AND phase <> 'finished'"),
        )
        batch_op.drop_index("ix_executions_policy_id_id")
        batch_op.drop_index("ix_executions_phase")

    op.drop_table("executions")
    op.drop_table("policies")
    op.drop_table("registries")
