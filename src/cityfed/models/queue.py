"""Leasing rows of a work queue (inbox_items, deliveries) so many workers never do the same job.

A worker leases due rows by setting ``locked_until``; the lease is the only lock, so no transaction
is held while the work (an HTTP call, a handler) runs. A worker that dies simply lets its leases
expire and the rows become due again: at-least-once, never lost. On PostgreSQL the candidate rows
are picked with ``FOR UPDATE SKIP LOCKED`` so concurrent workers take disjoint sets; on SQLite the
write transaction (BEGIN IMMEDIATE) already serialises leasing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.activitypub.actor import authority
from cityfed.models.db import dialect_name
from cityfed.models.states import CommentState, DeliveryState, InboxState
from cityfed.models.tables import Delivery, InboxItem, Object

Item = TypeVar("Item", InboxItem, Delivery)

DUE_STATES = (DeliveryState.PENDING, DeliveryState.RETRY)  # the same for InboxState


async def _lease_ids(
    session: AsyncSession,
    table: type[Any],
    now: datetime,
    limit: int,
    lease_for: timedelta,
    extra: Sequence[ColumnElement[bool]],
) -> list[int]:
    """Pick up to ``limit`` due rows (oldest due first), lease them and return their ids."""
    due = (
        select(table.id)
        .where(
            table.state.in_(DUE_STATES),
            table.next_attempt_at <= now,
            or_(table.locked_until.is_(None), table.locked_until < now),
            *extra,
        )
        .order_by(table.next_attempt_at, table.id)
        .limit(limit)
    )
    if dialect_name(session) == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(await session.scalars(due))
    if ids:
        await session.execute(
            update(table)
            .where(table.id.in_(ids))
            .values(locked_until=now + lease_for, attempts=table.attempts + 1)
            .execution_options(synchronize_session=False)
        )
    return ids


async def lease(
    session: AsyncSession,
    table: type[Item],
    now: datetime,
    *,
    limit: int,
    lease_for: timedelta,
    extra: Sequence[ColumnElement[bool]] = (),
) -> list[Item]:
    """Lease up to ``limit`` due rows of ``table`` (oldest due first) and return them."""
    ids = await _lease_ids(session, table, now, limit, lease_for, extra)
    if not ids:
        return []
    rows = await session.scalars(
        select(table)
        .where(table.id.in_(ids))
        .order_by(table.next_attempt_at, table.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def lease_fair(
    session: AsyncSession,
    table: type[Item],
    now: datetime,
    *,
    limit: int,
    lease_for: timedelta,
    key: Any,
    per_key: int,
) -> list[Item]:
    """Lease up to ``limit`` due rows, at most ``per_key`` of each value of ``key`` (a column,
    e.g. the sender), round robin: every key's oldest row before any key's second. Keys with a
    row leased right now (by any worker) are left out, so one key's rows are worked on by one
    worker at a time, in order, and a key with a long backlog cannot crowd out the others.
    """
    due = (
        table.state.in_(DUE_STATES),
        table.next_attempt_at <= now,
        or_(table.locked_until.is_(None), table.locked_until < now),
    )
    busy = select(key).where(table.state.in_(DUE_STATES), table.locked_until >= now)
    ranked = (
        select(
            table.id.label("id"),
            table.next_attempt_at.label("due_at"),
            func.row_number()
            .over(partition_by=key, order_by=(table.next_attempt_at, table.id))
            .label("turn"),
        )
        .where(*due, key.not_in(busy))
        .subquery()
    )
    picked = (
        select(ranked.c.id)
        .where(ranked.c.turn <= per_key)
        .order_by(ranked.c.turn, ranked.c.due_at, ranked.c.id)
        .limit(limit)
    )
    # The due conditions again on the outer query: on PostgreSQL a row another worker leased
    # meanwhile is re-checked after the lock wait (and skipped), which a window query cannot do.
    chosen = select(table.id).where(table.id.in_(picked), *due)
    if dialect_name(session) == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True)
    ids = list(await session.scalars(chosen))
    if not ids:
        return []
    await session.execute(
        update(table)
        .where(table.id.in_(ids))
        .values(locked_until=now + lease_for, attempts=table.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    rows = await session.scalars(
        select(table)
        .where(table.id.in_(ids))
        .order_by(table.next_attempt_at, table.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def renew(
    session: AsyncSession, table: type[Any], ids: Sequence[int], now: datetime, until: datetime
) -> int:
    """Extend the leases of rows still being worked on; how many were still leased."""
    if not ids:
        return 0
    result = await session.execute(
        update(table)
        .where(
            table.id.in_(ids),
            table.state.in_(DUE_STATES),
            table.locked_until.is_not(None),
            table.locked_until >= now,
        )
        .values(locked_until=until)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def lease_columns(
    session: AsyncSession,
    table: type[Item],
    now: datetime,
    *,
    limit: int,
    lease_for: timedelta,
    extra: Sequence[ColumnElement[bool]] = (),
) -> list[Row[Any]]:
    """Like ``lease``, but plain rows of the table's columns: no ORM objects to build.

    A delivery batch reads a few hundred rows and needs only their values.
    """
    ids = await _lease_ids(session, table, now, limit, lease_for, extra)
    if not ids:
        return []
    columns = table.__table__.c
    result = await session.execute(
        select(table.__table__)
        .where(columns.id.in_(ids))
        .order_by(columns.next_attempt_at, columns.id)
    )
    return list(result)


async def finish(
    session: AsyncSession, table: type[Any], row_id: int, state: str, now: datetime, **values: Any
) -> None:
    await session.execute(
        update(table)
        .where(table.id == row_id)
        .values(state=state, locked_until=None, finished_at=now, **values)
        .execution_options(synchronize_session=False)
    )


async def reschedule(
    session: AsyncSession, table: type[Any], row_id: int, at: datetime, **values: Any
) -> None:
    await session.execute(
        update(table)
        .where(table.id == row_id)
        .values(state=DeliveryState.RETRY, locked_until=None, next_attempt_at=at, **values)
        .execution_options(synchronize_session=False)
    )


async def release(
    session: AsyncSession, table: type[Any], ids: Sequence[int], lease: datetime
) -> int:
    """Hand leased rows back unprocessed: due again at once, the attempt not charged.

    For a worker that stops (SIGTERM) with rows it will not finish: without this they would wait
    until their lease expires. Only rows still under this very lease (``locked_until`` as leased)
    and not finished meanwhile are touched; returns how many.
    """
    if not ids:
        return 0
    result = await session.execute(
        update(table)
        .where(table.id.in_(ids), table.locked_until == lease, table.state.in_(DUE_STATES))
        .values(locked_until=None, attempts=table.attempts - 1)
        .execution_options(synchronize_session=False)
    )
    return max(result.rowcount or 0, 0)  # type: ignore[attr-defined]


async def inbox_backlog_by_domain(session: AsyncSession) -> dict[str, int]:
    """Bytes of inbox items stored and not yet processed, per sender domain (the actor's)."""
    rows = await session.execute(
        select(InboxItem.actor_ap_id, func.sum(func.length(InboxItem.body)))
        .where(InboxItem.state.in_(DUE_STATES))
        .group_by(InboxItem.actor_ap_id)
    )
    totals: dict[str, int] = {}
    for actor, size in rows:
        domain = authority(actor)
        totals[domain] = totals.get(domain, 0) + int(size or 0)
    return totals


# --- retention (federation/housekeeping.py) ----------------------------------------------------

FINISHED_INBOX_STATES = (InboxState.DONE, InboxState.FAILED)
FINISHED_DELIVERY_STATES = (
    DeliveryState.DONE,
    DeliveryState.FAILED,
    DeliveryState.DEAD,
    DeliveryState.CANCELLED,
)


def _not_held_comment() -> ColumnElement[bool]:
    # A held comment's approval forwards the original bytes (actions/moderation.py): keep them.
    held = select(Object.activity_ap_id).where(
        Object.state == CommentState.HELD, Object.activity_ap_id.is_not(None)
    )
    return InboxItem.activity_ap_id.not_in(held)


async def _oldest_ids(
    session: AsyncSession, table: type[Any], before: datetime, limit: int, *where: Any
) -> list[int]:
    """Up to ``limit`` ids of finished rows of ``table`` finished before ``before``: one batch of
    the purge, small enough that a purge never holds the write lock for long."""
    states = FINISHED_INBOX_STATES if table is InboxItem else FINISHED_DELIVERY_STATES
    query = select(table.id).where(table.state.in_(states), table.finished_at < before, *where)
    return list(await session.scalars(query.limit(limit)))


async def empty_inbox_bodies(session: AsyncSession, before: datetime, limit: int) -> int:
    """Empty up to ``limit`` processed items' bodies finished before ``before``: the row (the
    activity id, which deduplication needs) stays."""
    ids = await _oldest_ids(
        session, InboxItem, before, limit, func.length(InboxItem.body) > 0, _not_held_comment()
    )
    if ids:
        await session.execute(
            update(InboxItem)
            .where(InboxItem.id.in_(ids))
            .values(body=b"")
            .execution_options(synchronize_session=False)
        )
    return len(ids)


async def _delete(session: AsyncSession, table: type[Any], ids: list[int]) -> int:
    if ids:
        await session.execute(
            delete(table).where(table.id.in_(ids)).execution_options(synchronize_session=False)
        )
    return len(ids)


async def delete_inbox_items(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` processed items finished before ``before`` (past deduplication)."""
    ids = await _oldest_ids(session, InboxItem, before, limit, _not_held_comment())
    return await _delete(session, InboxItem, ids)


async def delete_deliveries(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` finished deliveries finished before ``before``."""
    return await _delete(session, Delivery, await _oldest_ids(session, Delivery, before, limit))


async def inbox_item_of(session: AsyncSession, activity_ap_id: str) -> InboxItem | None:
    """The inbox item that brought an activity (its body as received), if still kept."""
    return await session.scalar(select(InboxItem).where(InboxItem.activity_ap_id == activity_ap_id))


async def count_due(session: AsyncSession) -> int:
    """Deliveries and inbox items still to handle (due now or later), together."""
    total = 0
    for table in (Delivery, InboxItem):
        query = select(func.count()).select_from(table).where(table.state.in_(DUE_STATES))
        total += await session.scalar(query) or 0
    return total
