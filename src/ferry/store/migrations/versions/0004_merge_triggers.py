"""merge the schedules, events and webhooks branches

Revision ID: 0004
Revises: 0003_schedules, 0003_events, 0003_webhooks
Create Date: 2026-12-02 16:10:00

"""

from collections.abc import Sequence

revision: str = "0004"
down_revision: str | Sequence[str] | None = ("0003_schedules", "0003_events", "0003_webhooks")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the three features' tables are independent."""


def downgrade() -> None:
    """Nothing to change."""
