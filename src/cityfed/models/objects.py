"""Queries on ActivityStreams objects: our projects and challenges, and partners' copies."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.tables import Actor, Follow, Object

CITY_TYPES = ("Project", "Challenge")


async def by_ap_id(session: AsyncSession, ap_id: str) -> Object | None:
    return await session.scalar(select(Object).where(Object.ap_id == ap_id))


def _local_listing(actor_id: int, types: Sequence[str]) -> Select[tuple[Object]]:
    return select(Object).where(
        Object.actor_id == actor_id,
        Object.local.is_(True),
        Object.type.in_(types),
        Object.deleted_at.is_(None),
    )


async def local_objects(
    session: AsyncSession,
    actor_id: int,
    types: Sequence[str] = CITY_TYPES,
    *,
    offset: int = 0,
    limit: int | None = 20,
) -> list[Object]:
    """An actor's live projects/challenges, newest first (for pages, feeds and exports)."""
    query = _local_listing(actor_id, types).order_by(Object.published.desc(), Object.id.desc())
    if limit is not None:
        query = query.offset(offset).limit(limit)
    return list(await session.scalars(query))


async def count_local_objects(
    session: AsyncSession, actor_id: int, types: Sequence[str] = CITY_TYPES
) -> int:
    query = _local_listing(actor_id, types).with_only_columns(func.count())
    return await session.scalar(query) or 0


async def featured(session: AsyncSession, actor_id: int) -> list[Object]:
    query = _local_listing(actor_id, CITY_TYPES).where(Object.featured.is_(True))
    return list(await session.scalars(query.order_by(Object.published.desc()).limit(20)))


def _timeline(local_actor_id: int, types: Sequence[str]) -> Select[tuple[Object, Actor]]:
    """Objects by actors this local actor follows (accepted), that are still live."""
    followed = select(Follow.followee_id).where(
        Follow.follower_id == local_actor_id, Follow.state == "accepted"
    )
    return (
        select(Object, Actor)
        .join(Actor, Actor.id == Object.actor_id)
        .where(
            Object.local.is_(False),
            Object.type.in_(types),
            Object.deleted_at.is_(None),
            Object.actor_id.in_(followed),
        )
    )


async def timeline(
    session: AsyncSession,
    local_actor_id: int,
    types: Sequence[str] = CITY_TYPES,
    *,
    offset: int = 0,
    limit: int = 20,
) -> list[tuple[Object, Actor]]:
    """Projects and challenges received from followed cities, newest first."""
    query = (
        _timeline(local_actor_id, types)
        .order_by(Object.published.desc(), Object.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [(obj, actor) for obj, actor in (await session.execute(query)).all()]


async def count_timeline(
    session: AsyncSession, local_actor_id: int, types: Sequence[str] = CITY_TYPES
) -> int:
    query = _timeline(local_actor_id, types).with_only_columns(func.count(Object.id))
    return await session.scalar(query) or 0
