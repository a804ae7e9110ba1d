"""profile: a city's bio source, header, profile fields with verification, avatar/header media

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 19:00:00

The website and contact a local city had (two columns, sent as two fixed PropertyValues) become
its first profile fields, so there is one list of fields to edit, send and verify.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cityfed.models.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("header_url", sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column("summary_source", sa.Text(), nullable=True))

    op.create_table(
        "profile_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("verified_at", cityfed.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_at", cityfed.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["actors.id"],
            name=op.f("fk_profile_fields_actor_id_actors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile_fields")),
        sa.UniqueConstraint("actor_id", "position", name=op.f("uq_profile_fields_actor_id")),
    )
    with op.batch_alter_table("profile_fields", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_profile_fields_actor_id"), ["actor_id"], unique=False)

    op.create_table(
        "profile_media",
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["actors.id"],
            name=op.f("fk_profile_media_actor_id_actors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media.id"],
            name=op.f("fk_profile_media_media_id_media"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("actor_id", "role", name=op.f("pk_profile_media")),
    )
    with op.batch_alter_table("profile_media", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_profile_media_media_id"), ["media_id"], unique=False)

    # Website and contact of local cities become their first two fields.
    actors = sa.table(
        "actors",
        sa.column("id", sa.Integer),
        sa.column("local", sa.Boolean),
        sa.column("type", sa.String),
        sa.column("website", sa.String),
        sa.column("contact", sa.Text),
    )
    fields = sa.table(
        "profile_fields",
        sa.column("actor_id", sa.Integer),
        sa.column("position", sa.Integer),
        sa.column("name", sa.String),
        sa.column("value", sa.Text),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(actors.c.id, actors.c.website, actors.c.contact).where(
            actors.c.local.is_(True), actors.c.type != "Application"
        )
    ).all()
    for actor_id, website, contact in rows:
        values = [("Website", website), ("Contact", contact)]
        kept = [(name, value.strip()) for name, value in values if value and value.strip()]
        for position, (name, value) in enumerate(kept):
            conn.execute(
                fields.insert().values(
                    actor_id=actor_id, position=position, name=name, value=value[:255]
                )
            )
    conn.execute(actors.update().where(actors.c.local.is_(True)).values(website=None, contact=None))


def downgrade() -> None:
    with op.batch_alter_table("profile_media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profile_media_media_id"))
    op.drop_table("profile_media")
    with op.batch_alter_table("profile_fields", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profile_fields_actor_id"))
    op.drop_table("profile_fields")
    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.drop_column("summary_source")
        batch_op.drop_column("header_url")
