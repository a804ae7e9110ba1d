"""backfill: follows remember when the followee's outbox was fetched (issue 18)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 20:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cityfed.models.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("follows") as batch:
        batch.add_column(
            sa.Column(
                "backfilled_at", cityfed.models.types.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("follows") as batch:
        batch.drop_column("backfilled_at")
