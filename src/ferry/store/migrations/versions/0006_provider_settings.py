"""providers: each registry endpoint's provider settings (ACR OpenAPI endpoint, namespaces, ...)

Revision ID: 0006_provider_settings
Revises: 0005_watch
Create Date: 2026-12-02 18:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_provider_settings"
down_revision: str | Sequence[str] | None = "0005_watch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("registries", sa.Column("provider_settings", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("registries") as batch:
        batch.drop_column("provider_settings")
