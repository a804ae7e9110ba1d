"""Queries on domain availability (§3 Outbound): which domains are held, and ending the hold.

The state itself is written with the circuit breaker's (``federation/circuit.py``); these are the
questions the probe and the inbox ask about it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.db import dialect_name
from cityfed.models.queue import DUE_STATES
from cityfed.models.tables import Delivery, GoneInbox, Peer


async def unavailable_domains(session: AsyncSession) -> set[str]:
    return set(
        await session.scalars(select(Peer.domain).where(Peer.unavailable_since.is_not(None)))
    )


async def held_inboxes(session: AsyncSession, limit: int = 1000) -> dict[str, str]:
    """One inbox with held deliveries per unavailable domain: what a probe asks."""
    rows = await session.execute(
        select(Delivery.domain, func.min(Delivery.inbox))
        .where(
            Delivery.state.in_(DUE_STATES),
            Delivery.domain.in_(select(Peer.domain).where(Peer.unavailable_since.is_not(None))),
        )
        .group_by(Delivery.domain)
        .limit(limit)
    )
    return {domain: inbox for domain, inbox in rows}


async def count_held(session: AsyncSession, domain: str) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.domain == domain, Delivery.state.in_(DUE_STATES))
        )
        or 0
    )


async def mark_available(session: AsyncSession, domains: Collection[str], now: datetime) -> int:
    """End the hold (and the circuit) of ``domains``; held rows become due now. Returns how many
    domains were unavailable."""
    if not domains:
        return 0
    result = await session.execute(
        update(Peer)
        .where(Peer.domain.in_(list(domains)), Peer.unavailable_since.is_not(None))
        .values(
            unavailable_since=None,
            failing_since=None,
            consecutive_failures=0,
            circuit_open_until=None,
            last_success_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    changed = max(result.rowcount or 0, 0)  # type: ignore[attr-defined]
    if changed:
        # Rows that were waiting out a long backoff while held go now: the domain is back.
        await session.execute(
            update(Delivery)
            .where(
                Delivery.domain.in_(list(domains)),
                Delivery.state.in_(DUE_STATES),
                Delivery.next_attempt_at > now,
            )
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
    return changed


# --- personal inboxes that answer 410 ---------------------------------------------------------


async def gone_since(session: AsyncSession, inboxes: Collection[str]) -> dict[str, datetime]:
    """The first 410 of each of ``inboxes`` that has answered 410 with no success since."""
    if not inboxes:
        return {}
    rows = await session.execute(
        select(GoneInbox.inbox, GoneInbox.first_at).where(GoneInbox.inbox.in_(list(inboxes)))
    )
    return {inbox: first_at for inbox, first_at in rows}


async def record_gone(session: AsyncSession, inbox: str, now: datetime) -> datetime:
    """Count a 410 of ``inbox``; returns its first 410 since it last accepted a delivery."""
    dialect = dialect_name(session)
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(GoneInbox.__table__).values(inbox=inbox, first_at=now, last_at=now, count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["inbox"],
        set_={"last_at": now, "count": GoneInbox.__table__.c.count + 1},
    ).returning(GoneInbox.__table__.c.first_at)
    first_at: datetime = (await session.execute(stmt)).scalar_one()
    return first_at


async def forget_gone(session: AsyncSession, inboxes: Collection[str]) -> None:
    """These inboxes accepted a delivery (or their follows are gone): forget their 410s."""
    if inboxes:
        await session.execute(
            delete(GoneInbox)
            .where(GoneInbox.inbox.in_(list(inboxes)))
            .execution_options(synchronize_session=False)
        )
