"""reactions: remote Likes and Announces of objects we keep; titles as cf:title

Our stored projects and challenges also move their title from ``name``/``nameMap`` to
``cf:title``/``titleMap``: they are served from the stored document, and GoToSocial shows a
Note's ``name`` as a content warning.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 16:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cityfed.models.types

revision = "0006"
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
        sa.UniqueConstraint("object_id", "kind", "actor_id", name="uq_reactions_object_kind_actor"),
    )
    op.create_index(op.f("ix_reactions_actor_id"), "reactions", ["actor_id"], unique=False)
    _rename_title(("name", "nameMap"), ("cf:title", "titleMap"))


def downgrade() -> None:
    _rename_title(("cf:title", "titleMap"), ("name", "nameMap"))
    op.drop_index(op.f("ix_reactions_actor_id"), table_name="reactions")
    op.drop_table("reactions")


def _rename_title(old: tuple[str, str], new: tuple[str, str]) -> None:
    objects = sa.table(
        "objects",
        sa.column("id", sa.Integer()),
        sa.column("type", sa.String()),
        sa.column("local", sa.Boolean()),
        sa.column("document", sa.JSON()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(objects.c.id, objects.c.document).where(
            objects.c.local.is_(True), objects.c.type.in_(("Project", "Challenge"))
        )
    ).all()
    for row_id, document in rows:
        if not isinstance(document, dict) or not any(key in document for key in old):
            continue
        changed = {k: v for k, v in document.items() if k not in old}
        for before, after in zip(old, new, strict=True):
            if before in document:
                changed[after] = document[before]
        bind.execute(objects.update().where(objects.c.id == row_id).values(document=changed))
