"""Run the Alembic migrations against a node's database (both SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from cityfed.models.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(db: Database, revision: str = "head") -> None:
    config = alembic_config()

    def run(connection: Any) -> None:
        config.attributes["connection"] = connection
        with _foreign_keys_off(connection):
            command.upgrade(config, revision)

    # A plain (non-IMMEDIATE) connection: DDL on SQLite must not run inside our BEGIN IMMEDIATE hook
    # twice, and Alembic manages its own transaction on the handed-in connection.
    async with db.write_engine.connect() as conn:
        await conn.run_sync(run)
        await conn.commit()


@contextmanager
def _foreign_keys_off(connection: Any) -> Iterator[None]:
    """SQLite changes a table's constraints by rebuilding it (Alembic's batch mode): the old
    table is dropped, and with foreign keys on that drop deletes (ON DELETE CASCADE) every row
    that references it. Alembic's advice: migrate with foreign keys off. The pragma is a no-op
    inside a transaction, so it is set on the DBAPI connection before Alembic begins one (our
    connections leave BEGIN to us), and set back after; a migration that rebuilds a referenced
    table checks the references itself before it commits (0009)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    assert not connection.in_transaction()
    cursor = connection.connection.dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
        if connection.in_transaction():
            connection.commit()
    except BaseException:
        if connection.in_transaction():
            connection.rollback()
        raise
    finally:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


async def current_revision(db: Database) -> str | None:
    async with db.read_engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
