"""Group commit for the inbox: one writer task persists whatever requests are waiting.

Each verified activity is handed to the writer, which inserts up to ``MAX_BATCH`` of them in one
transaction and then releases every waiting request, which only then answers 202. One commit per
batch instead of one per request is what lets a SQLite node persist thousands of activities a
second (§6), and the 202 still means "durably stored". Duplicate ids (replays, retries by the
sender) are swallowed by the unique index: idempotency without a lookup.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import PoolProxiedConnection

from cityfed.models.db import Database
from cityfed.models.states import InboxState
from cityfed.models.tables import InboxItem
from cityfed.models.types import utcnow

log = logging.getLogger("cityfed.inbox")

MAX_BATCH = 100


@dataclass(slots=True)  # not frozen: built once per inbox request, and frozen costs 4x (verify.py)
class PendingItem:
    activity_ap_id: str
    actor_ap_id: str
    signer_key_id: str | None
    recipient: str | None
    body: bytes
    verified_by: str = "http-signature"


class InboxWriter:
    def __init__(self, db: Database, on_commit: asyncio.Event | None = None) -> None:
        self._db = db
        self._on_commit = on_commit
        # A list and an Event rather than an asyncio.Queue: the writer takes everything waiting
        # in one slice, and a submit costs an append (the Event is mostly set already).
        self._waiting: list[tuple[PendingItem, asyncio.Future[bool]]] = []
        self._wake = asyncio.Event()
        self._dialect = db.write_engine.dialect
        self._stamp = _datetime_processor(self._dialect)

    async def submit(self, item: PendingItem) -> bool:
        """Wait until ``item`` is durably stored; True if it is new, False for a duplicate id."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        self._wake.set()
        return await future

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            batch = self._waiting[:MAX_BATCH]
            del self._waiting[:MAX_BATCH]
            if not self._waiting:
                self._wake.clear()
            if not batch:
                continue
            try:
                inserted = await self._write([item for item, _ in batch])
            except asyncio.CancelledError:
                for _, future in batch:
                    future.cancel()
                raise
            except Exception as exc:
                log.exception("inbox batch of %d failed to commit", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for item, future in batch:
                is_new = item.activity_ap_id in inserted
                inserted.discard(item.activity_ap_id)  # a second copy in one batch is a replay
                if not future.done():
                    future.set_result(is_new)
            if self._on_commit is not None:
                self._on_commit.set()

    async def _write(self, items: list[PendingItem]) -> set[str]:
        # One multi-row INSERT, its SQL text cached per batch size, sent straight to the driver
        # in as few round trips as the driver allows: building, compiling and executing it
        # through SQLAlchemy (and on SQLite every round trip is a hop to aiosqlite's thread)
        # cost several times what the database takes to store the rows (bench/README.md).
        now = self._stamp(utcnow())
        params: list[Any] = []
        for item in items:
            params += (
                item.activity_ap_id,
                item.actor_ap_id,
                item.signer_key_id,
                item.recipient,
                item.body,
                item.verified_by,
                InboxState.PENDING.value,
                0,
                now,
                now,
            )
        sql = _insert_sql(self._dialect.name, len(items))
        # A connection of the write engine: on SQLite the only one, so writers still queue here.
        # No BEGIN/COMMIT around it: one statement is one transaction in autocommit mode (both
        # drivers run in it here), atomic and, once the call returns, durable.
        async with self._db.write_engine.connect() as connection:
            pooled = _at_hand(connection)
            if pooled is None:
                pooled = await connection.get_raw_connection()
            driver: Any = pooled.driver_connection
            if self._dialect.name == "postgresql":  # asyncpg
                rows = await driver.fetch(sql, *params)
            else:  # aiosqlite, isolation_level None (models/db.py)
                if driver.in_transaction:  # never left open by the pool; if so, not ours to keep
                    await driver.rollback()
                rows = await driver.execute_fetchall(sql, params)
        return {row[0] for row in rows}


def _at_hand(connection: AsyncConnection) -> PoolProxiedConnection | None:
    """The pooled DBAPI connection of ``connection`` when reading it needs no I/O.

    ``get_raw_connection()`` runs that attribute read in a greenlet of its own (one of three
    greenlet hops per batch); the connection is already checked out and valid here, unless it
    was invalidated, when None sends the caller the greenlet's way (which may reconnect).
    """
    sync = connection.sync_connection
    if sync is None or sync.invalidated or sync.closed:
        return None
    return sync.connection


_COLUMNS = (
    "activity_ap_id",
    "actor_ap_id",
    "signer_key_id",
    "recipient",
    "body",
    "verified_by",
    "state",
    "attempts",
    "next_attempt_at",
    "received_at",
)


@functools.cache
def _insert_sql(dialect: str, rows: int) -> str:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING`` for ``rows`` rows, in the driver's style."""
    width = len(_COLUMNS)
    if dialect == "postgresql":  # asyncpg: $1, $2, ...
        groups = [
            "(" + ", ".join(f"${row * width + column + 1}" for column in range(width)) + ")"
            for row in range(rows)
        ]
    else:  # sqlite3: qmark
        groups = ["(" + ", ".join("?" * width) + ")"] * rows
    return (
        f"INSERT INTO {InboxItem.__tablename__} ({', '.join(_COLUMNS)}) VALUES {', '.join(groups)}"
        " ON CONFLICT (activity_ap_id) DO NOTHING RETURNING activity_ap_id"
    )


def _datetime_processor(dialect: Dialect) -> Callable[[Any], Any]:
    """How the column type stores a datetime on this database (SQLite: its text format)."""
    processor = InboxItem.__table__.c.received_at.type.bind_processor(dialect)
    return processor or (lambda value: value)
