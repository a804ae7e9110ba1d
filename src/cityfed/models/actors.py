"""Queries on actors and their keys."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.tables import Actor, Key, Object
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


async def actor_by_id(session: AsyncSession, actor_id: int) -> Actor | None:
    return await session.get(Actor, actor_id)


async def actors_by_id(session: AsyncSession, actor_ids: Iterable[int]) -> dict[int, Actor]:
    ids = set(actor_ids)
    if not ids:
        return {}
    rows = await session.scalars(select(Actor).where(Actor.id.in_(ids)))
    return {actor.id: actor for actor in rows}


async def with_authors(session: AsyncSession, rows: Iterable[Object]) -> list[tuple[Object, Actor]]:
    """``rows`` paired with their authors (rows whose author is gone are dropped)."""
    rows = list(rows)
    authors = await actors_by_id(session, {row.actor_id for row in rows})
    return [(row, authors[row.actor_id]) for row in rows if row.actor_id in authors]


async def local_keys(session: AsyncSession) -> list[tuple[Key, Actor]]:
    """Every key of our own actors (current and rotated out), with its actor, oldest first."""
    rows = await session.execute(
        select(Key, Actor)
        .join(Actor, Actor.id == Key.actor_id)
        .where(Actor.local.is_(True))
        .order_by(Key.id)
    )
    return [(key, actor) for key, actor in rows.all()]


async def local_actors_among(session: AsyncSession, ap_ids: Iterable[str]) -> list[Actor]:
    """Our own cities (not the instance actor) among ``ap_ids``."""
    query = select(Actor).where(
        Actor.ap_id.in_(set(ap_ids)), Actor.local.is_(True), Actor.type != "Application"
    )
    return list(await session.scalars(query))


async def count_keys(session: AsyncSession, actor_id: int, kind: str) -> int:
    """How many keys of ``kind`` an actor has had (current and rotated out)."""
    query = select(func.count()).select_from(Key).where(Key.actor_id == actor_id, Key.kind == kind)
    return await session.scalar(query) or 0


async def set_icon_url(session: AsyncSession, actor_id: int, url: str | None) -> None:
    """A local actor's avatar (``icon``), e.g. the demo's logo drawn by code."""
    actor = await session.get(Actor, actor_id)
    if actor is not None:
        actor.icon_url = url
        actor.updated_at = utcnow()
