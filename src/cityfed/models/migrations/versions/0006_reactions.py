"""reactions: remote Likes and Announces of objects we keep

Revision ID: 0006_reactions
Revises: 0005
Create Date: 2026-12-03 16:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cityfed.models.types

revision = "0006_reactions"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("activity_ap_id", sa.String(length=2048), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("created_at", cityfed.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["actors.id"],
            name=op.f("fk_reactions_actor_id_actors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["object_id"],
            ["objects.id"],
            name=op.f("fk_reactions_object_id_objects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reactions")),
        sa.UniqueConstraint("activity_ap_id", name=op.f("uq_reactions_activity_ap_id")),
        sa.UniqueConstraint(
            "object_id", "kind", "actor_id", name="uq_reactions_object_kind_actor"
        ),
    )
    op.create_index(op.f("ix_reactions_actor_id"), "reactions", ["actor_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_reactions_actor_id"), table_name="reactions")
    op.drop_table("reactions")
