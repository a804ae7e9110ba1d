"""Queries on actors and their keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.tables import Actor, Key
from cityfed.models.types import utcnow


async def local_actor(session: AsyncSession, handle: str) -> Actor | None:
    return await session.scalar(
        select(Actor).where(
            Actor.local.is_(True), Actor.handle == handle, Actor.type != "Application"
        )
    )


async def instance_actor(session: AsyncSession) -> Actor | None:
    return await session.scalar(
        select(Actor).where(Actor.local.is_(True), Actor.type == "Application")
    )


async def local_actors(session: AsyncSession) -> list[Actor]:
    rows = await session.scalars(
        select(Actor).where(Actor.local.is_(True), Actor.type != "Application").order_by(Actor.id)
    )
    return list(rows)


async def count_local_actors(session: AsyncSession) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(Actor)
            .where(Actor.local.is_(True), Actor.type != "Application")
        )
        or 0
    )


async def actor_by_ap_id(session: AsyncSession, ap_id: str) -> Actor | None:
    return await session.scalar(select(Actor).where(Actor.ap_id == ap_id))


async def valid_keys(session: AsyncSession, actor_id: int, kind: str, now: datetime) -> list[Key]:
    """Keys still valid for verification, newest first (a rotated key stays until it expires)."""
    rows = await session.scalars(
        select(Key)
        .where(
            Key.actor_id == actor_id,
            Key.kind == kind,
            or_(Key.expires_at.is_(None), Key.expires_at > now),
        )
        .order_by(Key.id.desc())
    )
    return list(rows)


async def signing_key(session: AsyncSession, actor_id: int, kind: str) -> Key | None:
    """The key this local actor signs with now: the newest one not retired."""
    return await session.scalar(
        select(Key)
        .where(
            Key.actor_id == actor_id,
            Key.kind == kind,
            Key.retired_at.is_(None),
            Key.private_pem.is_not(None),
        )
        .order_by(Key.id.desc())
        .limit(1)
    )


async def key_by_key_id(session: AsyncSession, key_id: str) -> Key | None:
    return await session.scalar(select(Key).where(Key.key_id == key_id))


async def set_icon_url(session: AsyncSession, actor_id: int, url: str | None) -> None:
    """A local actor's avatar (``icon``), e.g. the demo's logo drawn by code."""
    actor = await session.get(Actor, actor_id)
    if actor is not None:
        actor.icon_url = url
        actor.updated_at = utcnow()
