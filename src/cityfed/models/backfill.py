"""Queries of the outbox backfill (issue 18): which accepted follows still owe one, marking one
done, and storing a fetched project or challenge once (by its id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cityfed.models.states import FollowState
from cityfed.models.tables import Actor, Follow, Object
from cityfed.models.types import utcnow


@dataclass(frozen=True, slots=True)
class Owed:
    """An accepted follow of a remote actor by one of ours whose outbox is not fetched yet."""

    follow_id: int
    actor_id: int
    actor_ap_id: str
    outbox: str


async def owed(session: AsyncSession, limit: int = 10) -> list[Owed]:
    follower = aliased(Actor)
    followee = aliased(Actor)
    rows = await session.execute(
        select(Follow.id, followee.id, followee.ap_id, followee.outbox)
        .join(follower, follower.id == Follow.follower_id)
        .join(followee, followee.id == Follow.followee_id)
        .where(
            Follow.state == FollowState.ACCEPTED,
            Follow.backfilled_at.is_(None),
            follower.local.is_(True),
            followee.local.is_(False),
        )
        .order_by(Follow.id)
        .limit(limit)
    )
    return [Owed(fid, aid, ap_id, outbox or "") for fid, aid, ap_id, outbox in rows]


async def mark_backfilled(session: AsyncSession, follow_id: int) -> None:
    await session.execute(
        update(Follow).where(Follow.id == follow_id).values(backfilled_at=utcnow())
    )


async def store_if_new(
    session: AsyncSession,
    *,
    actor_id: int,
    ap_id: str,
    type_name: str,
    document: dict[str, Any],
    published: datetime,
    updated: datetime | None,
) -> bool:
    """Keep a partner's object unless we have it (or had it: a deleted one stays deleted);
    True if stored. Idempotent, so fetching the same outbox twice stores nothing twice."""
    known = await session.scalar(select(Object.id).where(Object.ap_id == ap_id))
    if known is not None:
        return False
    session.add(
        Object(
            ap_id=ap_id,
            type=type_name,
            actor_id=actor_id,
            local=False,
            document=document,
            published=published,
            updated=updated,
        )
    )
    return True
