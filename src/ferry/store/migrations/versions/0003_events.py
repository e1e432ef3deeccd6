"""events: received artifact events (deduplicated by key) and the scope of event-based executions

Revision ID: 0003_events
Revises: 0002
Create Date: 2026-12-03 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_events"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("sender", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("repository", sa.String(length=512), nullable=False),
        sa.Column("tag", sa.String(length=128), nullable=True),
        sa.Column("digest", sa.String(length=160), nullable=True),
        sa.Column("registry_id", sa.Integer(), nullable=True),
        sa.Column("source_host", sa.String(length=256), nullable=True),
        sa.Column("received_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("key", name=op.f("uq_events_key")),
    )
    op.create_index("ix_events_handled_time", "events", ["handled_time"], unique=False)
    op.add_column("executions", sa.Column("scope", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("scope")
    op.drop_index("ix_events_handled_time", table_name="events")
    op.drop_table("events")
