"""Async engines and sessions for SQLite (embedded) and PostgreSQL (scale-out).

On SQLite every write goes through one connection that opens its transactions with
``BEGIN IMMEDIATE``: writers queue in-process for that connection instead of fighting for SQLite's
lock (which is what made the tail latency blow up with the default pool), and a transaction never
fails half-way on a read-to-write lock upgrade. Reads use their own small pool and WAL snapshots.
On PostgreSQL one pooled engine serves both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def _sqlite_engine(url: str, *, begin: str, pool_size: int, reset: bool = True) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        # The pool's reset is a ROLLBACK on every check-in, a round trip to aiosqlite's thread.
        # The write connection needs none: SQLAlchemy ends its own transactions when a session
        # or connection closes, and in autocommit mode nothing else is ever left open (the
        # inbox writer checks before it writes).
        pool_reset_on_return="rollback" if reset else None,
        connect_args={"timeout": 30},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Only a new, empty file takes it (an existing database keeps its page size). Stored
        # documents are a few KB: at 4 KB a page holds one inbox row and its WAL frame is half
        # empty; at 8 KB SQLite spent less CPU per stored activity (bench/README.md).
        cursor.execute("PRAGMA page_size=8192")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # FULL: a 202 is an acknowledgement that must survive power loss, not only a crash.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


@dataclass
class Database:
    """The node's database: ``session()`` for reads, ``transaction()`` for writes."""

    url: str
    read_engine: AsyncEngine
    write_engine: AsyncEngine

    def __post_init__(self) -> None:
        self._read = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._write = async_sessionmaker(self.write_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read-only session; anything it flushes is rolled back."""
        async with self._read() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        async with self._write() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            await self.write_engine.dispose()


def open_database(url: str, *, pool_size: int = 10) -> Database:
    # Registers the search index's flush listener: every session then keeps it in step.
    from cityfed.models import search  # noqa: F401

    if url.startswith("sqlite"):
        return Database(
            url=url,
            read_engine=_sqlite_engine(url, begin="BEGIN", pool_size=4),
            write_engine=_sqlite_engine(url, begin="BEGIN IMMEDIATE", pool_size=1, reset=False),
        )
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )
    return Database(url=url, read_engine=engine, write_engine=engine)


def dialect_name(session: AsyncSession) -> str:
    """``"sqlite"`` or ``"postgresql"``: the database ``session`` is bound to."""
    bind = session.bind
    if bind is None:  # every session comes from Database.session(), bound to its engine
        raise RuntimeError("session is not bound to a database")
    return bind.dialect.name
