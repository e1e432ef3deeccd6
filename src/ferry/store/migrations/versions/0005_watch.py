"""watching sources: a policy's poll interval, the watcher's rounds and the tags it last saw

Revision ID: 0005_watch
Revises: 0004
Create Date: 2026-12-03 14:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_watch"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("policies", sa.Column("trigger_poll_interval", sa.Integer(), nullable=True))
    op.create_table(
        "watches",
        sa.Column("policy_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("round_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("round_version", sa.DateTime(timezone=True), nullable=True),
        sa.Column("round_token", sa.String(length=64), nullable=True),
        sa.Column("baseline_version", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_round_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_watches_policy_id_policies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("policy_id", name=op.f("pk_watches")),
    )
    op.create_table(
        "watched_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("repository", sa.String(length=512), nullable=False),
        sa.Column("tag", sa.String(length=128), nullable=False),
        sa.Column("digest", sa.String(length=160), nullable=False),
        sa.Column("seen_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["policies.id"],
            name=op.f("fk_watched_tags_policy_id_policies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watched_tags")),
        sa.UniqueConstraint("policy_id", "repository", "tag", name=op.f("uq_watched_tags_policy_id")),
    )


def downgrade() -> None:
    op.drop_table("watched_tags")
    op.drop_table("watches")
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("trigger_poll_interval")
