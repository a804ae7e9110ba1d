"""cooperation

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 11:17:53.511109
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cityfed.models.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_ap_id", sa.String(length=2048), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("origin_domain", sa.String(length=255), nullable=False),
        sa.Column("target_actor", sa.String(length=2048), nullable=True),
        sa.Column("objects", sa.JSON(), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("created_at", cityfed.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", cityfed.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=255), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("activity_ap_id", name=op.f("uq_reports_activity_ap_id")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reports_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_reports_target_actor"), ["target_actor"], unique=False)

    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("moderate_comments", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("objects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target", sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column("state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("activity_ap_id", sa.String(length=2048), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_objects_activity_ap_id"), ["activity_ap_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_objects_target"), ["target"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("objects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_objects_target"))
        batch_op.drop_index(batch_op.f("ix_objects_activity_ap_id"))
        batch_op.drop_column("activity_ap_id")
        batch_op.drop_column("state")
        batch_op.drop_column("target")

    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.drop_column("moderate_comments")

    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reports_target_actor"))
        batch_op.drop_index(batch_op.f("ix_reports_created_at"))

    op.drop_table("reports")
