"""delivery reliability: unavailable domains, gone inboxes, purge indexes

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cityfed.models.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, cityfed.models.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("peers", schema=None) as batch_op:
        batch_op.add_column(_when("failing_since"))
        batch_op.add_column(_when("unavailable_since"))
    op.create_table(
        "gone_inboxes",
        sa.Column("inbox", sa.String(length=2048), nullable=False),
        _when("first_at", nullable=False),
        _when("last_at", nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("inbox", name=op.f("pk_gone_inboxes")),
    )
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_items_finished_at", ["finished_at"], unique=False)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_finished_at", ["finished_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_finished_at")
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_items_finished_at")
    op.drop_table("gone_inboxes")
    with op.batch_alter_table("peers", schema=None) as batch_op:
        batch_op.drop_column("unavailable_since")
        batch_op.drop_column("failing_since")
