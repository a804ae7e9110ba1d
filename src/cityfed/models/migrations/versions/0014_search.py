"""search: the full-text index of projects, challenges and comments (issue 18)

``search_entries`` holds each searchable object's filter fields and words; SQLite indexes them
in the FTS5 table ``search_fts`` (kept in step by triggers), PostgreSQL in the ``tsv`` column
(GIN). Existing objects are indexed here, with the same code that indexes new ones.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

import cityfed.models.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_SQLITE_FTS = [
    # An external-content FTS5 table: the words are stored once, in search_entries.
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, content='search_entries', "
    "content_rowid='object_id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_entries_ai AFTER INSERT ON search_entries BEGIN "
    "INSERT INTO search_fts(rowid, title, body) VALUES (new.object_id, new.title, new.body); END",
    "CREATE TRIGGER search_entries_ad AFTER DELETE ON search_entries BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, body) "
    "VALUES ('delete', old.object_id, old.title, old.body); END",
    "CREATE TRIGGER search_entries_au AFTER UPDATE ON search_entries BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, body) "
    "VALUES ('delete', old.object_id, old.title, old.body); "
    "INSERT INTO search_fts(rowid, title, body) VALUES (new.object_id, new.title, new.body); END",
]


def upgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    columns = [
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("local", sa.Boolean(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=True),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("sdgs", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("published", cityfed.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    ]
    if pg:
        columns.append(sa.Column("tsv", postgresql.TSVECTOR(), nullable=False))
    op.create_table(
        "search_entries",
        *columns,
        sa.ForeignKeyConstraint(
            ["object_id"],
            ["objects.id"],
            name=op.f("fk_search_entries_object_id_objects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["actors.id"],
            name=op.f("fk_search_entries_actor_id_actors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("object_id", name=op.f("pk_search_entries")),
    )
    op.create_index("ix_search_entries_listing", "search_entries", ["kind", "published"])
    op.create_index("ix_search_entries_actor", "search_entries", ["actor_id", "published"])
    if pg:
        op.create_index("ix_search_entries_tsv", "search_entries", ["tsv"], postgresql_using="gin")
    else:
        for statement in _SQLITE_FTS:
            op.execute(statement)
    _backfill(bind)


def _backfill(bind: sa.Connection) -> None:
    # The index code of today, so that old rows are indexed exactly as new ones will be.
    from cityfed.models import search
    from cityfed.models.tables import Object

    session = Session(bind=bind)
    last = 0
    while True:
        rows = list(
            session.scalars(
                sa.select(Object)
                .where(Object.id > last, Object.type.in_(tuple(search.KINDS)))
                .order_by(Object.id)
                .limit(500)
            )
        )
        if not rows:
            break
        search.write_entries(bind, rows)
        last = rows[-1].id
        session.expunge_all()


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        for name in ("search_entries_ai", "search_entries_ad", "search_entries_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_entries")
