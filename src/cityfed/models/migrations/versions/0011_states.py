"""states: CHECK constraints on every state column (models/states.py names the values)

The conditions are written out here, not imported: a migration describes the schema as it was
at its revision, whatever models/states.py says later.

On SQLite a constraint is added by rebuilding the table (batch mode). Rebuilding ``objects``
drops the old table, and with ``foreign_keys=ON`` that drop would cascade to the rows that
reference it (reactions, media links): ``cityfed.models.migrate`` runs migrations with foreign
keys off, and this migration checks them before it commits.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ANSWER = "('pending', 'accepted', 'rejected')"
CHECKS = {
    "follows": ("state", "state IN ('pending', 'accepted', 'rejected')"),
    "objects": (
        "state",
        "state IS NULL"
        " OR (type = 'Note' AND state IN ('held', 'published', 'removed'))"
        f" OR (type = 'Adoption' AND state IN {_ANSWER})"
        f" OR (type = 'SolutionOffer' AND state IN {_ANSWER})",
    ),
    "inbox_items": ("state", "state IN ('pending', 'retry', 'done', 'failed')"),
    "deliveries": (
        "state",
        "state IN ('pending', 'retry', 'done', 'failed', 'dead', 'cancelled')",
    ),
    "peers": ("policy", "policy IS NULL OR policy IN ('trusted', 'allowed', 'blocked')"),
}


def upgrade() -> None:
    for table, (name, condition) in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(op.f(f"ck_{table}_{name}"), condition)
    _check_foreign_keys()


def downgrade() -> None:
    for table, (name, _) in reversed(CHECKS.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
    _check_foreign_keys()


def _check_foreign_keys() -> None:
    """On SQLite, refuse to commit rebuilt tables that broke a reference (none should)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"rebuilding tables broke foreign keys: {broken[:5]}")
