"""media: uploads, their renditions, their links to objects, and the remote image cache (issue 16)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 15:47:28.365695
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cityfed.models.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remote_media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=True),
        sa.Column("media_type", sa.String(length=255), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("blurhash", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("fetched_at", cityfed.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", cityfed.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remote_media")),
        sa.UniqueConstraint("url", name=op.f("uq_remote_media_url")),
    )
    with op.batch_alter_table("remote_media", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_remote_media_domain"), ["domain"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_remote_media_last_used_at"), ["last_used_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_remote_media_storage_key"), ["storage_key"], unique=False
        )

    op.create_table(
        "media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("media_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("blurhash", sa.String(length=64), nullable=True),
        sa.Column("focal_x", sa.Float(), nullable=True),
        sa.Column("focal_y", sa.Float(), nullable=True),
        sa.Column("alt_text", sa.Text(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("created_at", cityfed.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["actors.id"], name=op.f("fk_media_owner_id_actors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media")),
    )
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_sha256"), ["sha256"], unique=False)

    op.create_table(
        "media_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("variant", sa.String(length=16), nullable=False),
        sa.Column("media_type", sa.String(length=255), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media.id"],
            name=op.f("fk_media_files_media_id_media"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_files")),
        sa.UniqueConstraint(
            "media_id", "variant", "media_type", name=op.f("uq_media_files_media_id")
        ),
    )
    with op.batch_alter_table("media_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_files_media_id"), ["media_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_media_files_storage_key"), ["storage_key"], unique=False
        )

    op.create_table(
        "media_links",
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media.id"],
            name=op.f("fk_media_links_media_id_media"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["object_id"],
            ["objects.id"],
            name=op.f("fk_media_links_object_id_objects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("media_id", "object_id", name=op.f("pk_media_links")),
    )
    with op.batch_alter_table("media_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_links_object_id"), ["object_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("media_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_links_object_id"))

    op.drop_table("media_links")
    with op.batch_alter_table("media_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_files_storage_key"))
        batch_op.drop_index(batch_op.f("ix_media_files_media_id"))

    op.drop_table("media_files")
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_sha256"))
        batch_op.drop_index(batch_op.f("ix_media_owner_id"))

    op.drop_table("media")
    with op.batch_alter_table("remote_media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remote_media_storage_key"))
        batch_op.drop_index(batch_op.f("ix_remote_media_last_used_at"))
        batch_op.drop_index(batch_op.f("ix_remote_media_domain"))

    op.drop_table("remote_media")
