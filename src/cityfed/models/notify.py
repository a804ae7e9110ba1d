"""Telling every web process that a status changed, for the streaming API (issue 17.3).

An event is tiny JSON (``{"event": "update", "object": <row id>}``): each process renders the
status itself for its own connected clients. On PostgreSQL it travels by ``NOTIFY`` sent inside
the writing transaction, so PostgreSQL delivers it only when (and if) that transaction commits,
to every process that ``LISTEN``s, the sender included; ``listen`` keeps one asyncpg connection
per process for that. On SQLite (one process) the ``LocalBus`` delivers it after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.db import dialect_name

log = logging.getLogger("cityfed.notify")

CHANNEL = "cityfed_stream"
RECONNECT_SECONDS = 2.0

Listener = Callable[[str], None]


class LocalBus:
    """This process's subscribers to status events (the streaming hub)."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def deliver(self, payload: str) -> None:
        for listener in list(self._listeners):
            try:
                listener(payload)
            except Exception:  # one broken subscriber must not stop the others
                log.exception("status event listener failed")


async def announce(session: AsyncSession, bus: LocalBus, kind: str, object_id: int) -> None:
    """Send a status event once ``session``'s transaction commits (never if it rolls back)."""
    payload = orjson.dumps({"event": kind, "object": object_id}).decode()
    if dialect_name(session) == "postgresql":
        await session.execute(select(func.pg_notify(CHANNEL, payload)))
        return

    def committed(_session: Any) -> None:
        bus.deliver(payload)

    event.listen(session.sync_session, "after_commit", committed, once=True)


async def listen(database_url: str, bus: LocalBus) -> None:
    """Forward PostgreSQL notifications on ``CHANNEL`` to ``bus`` until cancelled, reconnecting
    when the connection drops (events sent meanwhile are lost, as a client's own reconnect
    would lose them: streaming is live, timelines are the record)."""
    import asyncpg  # type: ignore[import-untyped]

    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)

    def forward(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        bus.deliver(payload)

    while True:
        lost = asyncio.Event()
        try:
            connection = await asyncpg.connect(dsn)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("streaming: cannot listen on PostgreSQL (%s), retrying", exc)
            await asyncio.sleep(RECONNECT_SECONDS)
            continue
        try:
            connection.add_termination_listener(lambda _conn, lost=lost: lost.set())
            await connection.add_listener(CHANNEL, forward)
            log.info("streaming: listening for status events on PostgreSQL")
            await lost.wait()
            log.warning("streaming: PostgreSQL listener connection lost, reconnecting")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(connection.close(timeout=2))
