"""Queries on ActivityStreams objects: our projects and challenges, and partners' copies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.peers import actor_not_blocked, domain_not_blocked
from cityfed.models.tables import Actor, Follow, Object, Reaction

CITY_TYPES = ("Project", "Challenge")


async def by_id(session: AsyncSession, object_id: int) -> Object | None:
    return await session.get(Object, object_id)


async def by_ap_id(session: AsyncSession, ap_id: str) -> Object | None:
    return await session.scalar(select(Object).where(Object.ap_id == ap_id))


def _local_listing(
    actor_id: int, types: Sequence[str], featured: bool | None = None
) -> Select[Object]:
    query = select(Object).where(
        Object.actor_id == actor_id,
        Object.local.is_(True),
        Object.type.in_(types),
        Object.deleted_at.is_(None),
    )
    return query if featured is None else query.where(Object.featured.is_(featured))


async def local_objects(
    session: AsyncSession,
    actor_id: int,
    types: Sequence[str] = CITY_TYPES,
    *,
    offset: int = 0,
    limit: int | None = 20,
    featured: bool | None = None,
) -> list[Object]:
    """An actor's live projects/challenges, newest first (for pages, feeds and exports); only
    the featured ones or only the others when ``featured`` says so."""
    query = _local_listing(actor_id, types, featured).order_by(
        Object.published.desc(), Object.id.desc()
    )
    if limit is not None:
        query = query.offset(offset).limit(limit)
    return list(await session.scalars(query))


async def count_local_objects(
    session: AsyncSession,
    actor_id: int,
    types: Sequence[str] = CITY_TYPES,
    *,
    featured: bool | None = None,
) -> int:
    query = _local_listing(actor_id, types, featured).with_only_columns(func.count())
    return await session.scalar(query) or 0


async def featured(session: AsyncSession, actor_id: int) -> list[Object]:
    query = _local_listing(actor_id, CITY_TYPES).where(Object.featured.is_(True))
    return list(await session.scalars(query.order_by(Object.published.desc()).limit(20)))


def _timeline(local_actor_id: int, types: Sequence[str]) -> Select[Object, Actor]:
    """Objects by actors this local actor follows (accepted), or boosted by one of them, that are
    still live and not from a blocked domain (a block removes the follows, but copies received
    before it stay stored)."""
    followed = select(Follow.followee_id).where(
        Follow.follower_id == local_actor_id, Follow.state == "accepted"
    )
    # A partner's object boosted (Announce) by a followed city shows too, as a boost.
    boosted = select(Reaction.object_id).where(
        Reaction.kind == "announce", Reaction.actor_id.in_(followed)
    )
    return (
        select(Object, Actor)
        .join(Actor, Actor.id == Object.actor_id)
        .where(
            Object.local.is_(False),
            Object.type.in_(types),
            Object.deleted_at.is_(None),
            or_(Object.actor_id.in_(followed), Object.id.in_(boosted)),
            domain_not_blocked(Actor.domain),
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
    """Projects and challenges received from followed cities, newest first.

    One narrow query per type, merged here: each walks ``ix_objects_listing`` (local, type,
    published) newest first and stops after ``offset + limit`` rows, where a single query with
    ``type IN (...)`` has SQLite sort every matching row, documents and all (bench/README.md).
    """
    keys: list[tuple[datetime, int]] = []
    for kind in dict.fromkeys(types):
        rows = await session.execute(
            _timeline(local_actor_id, (kind,))
            .with_only_columns(Object.published, Object.id)
            .order_by(Object.published.desc(), Object.id.desc())
            .limit(offset + limit)
        )
        keys.extend((published, object_id) for published, object_id in rows)
    keys.sort(reverse=True)
    ids = [object_id for _, object_id in keys[offset : offset + limit]]
    if not ids:
        return []
    joined = await session.execute(
        select(Object, Actor).join(Actor, Actor.id == Object.actor_id).where(Object.id.in_(ids))
    )
    found = {obj.id: (obj, actor) for obj, actor in joined}
    return [found[object_id] for object_id in ids if object_id in found]


async def count_timeline(
    session: AsyncSession, local_actor_id: int, types: Sequence[str] = CITY_TYPES
) -> int:
    query = _timeline(local_actor_id, types).with_only_columns(func.count(Object.id))
    return await session.scalar(query) or 0


# --- cooperation: adoptions and solution offers (rows pointing at a project or challenge) -------


def _targeting(
    type_name: str, target: str, state: str | None, hide_blocked: bool
) -> Select[Object]:
    query = select(Object).where(
        Object.type == type_name, Object.target == target, Object.deleted_at.is_(None)
    )
    if hide_blocked:
        query = query.where(actor_not_blocked(Object.actor_id))
    return query if state is None else query.where(Object.state == state)


async def targeting(
    session: AsyncSession,
    type_name: str,
    target: str,
    *,
    state: str | None = None,
    offset: int = 0,
    limit: int | None = None,
    hide_blocked: bool = False,
) -> list[Object]:
    """Live Adoptions/SolutionOffers about ``target`` (a project or challenge id), oldest first;
    ``hide_blocked`` leaves out those by blocked domains' actors (for what we show)."""
    query = _targeting(type_name, target, state, hide_blocked).order_by(Object.published, Object.id)
    if limit is not None:
        query = query.offset(offset).limit(limit)
    return list(await session.scalars(query))


async def count_targeting(
    session: AsyncSession,
    type_name: str,
    target: str,
    *,
    state: str | None = None,
    hide_blocked: bool = False,
) -> int:
    query = _targeting(type_name, target, state, hide_blocked).with_only_columns(
        func.count(Object.id)
    )
    return await session.scalar(query) or 0


async def by_activity(session: AsyncSession, activity_ap_id: str, type_name: str) -> Object | None:
    """The object an activity of ours brought (an Offer's SolutionOffer, a Create's Adoption)."""
    return await session.scalar(
        select(Object).where(Object.activity_ap_id == activity_ap_id, Object.type == type_name)
    )


async def made_by(session: AsyncSession, actor_id: int, type_name: str) -> list[Object]:
    """A local actor's own live Adoptions or SolutionOffers, newest first."""
    query = select(Object).where(
        Object.actor_id == actor_id,
        Object.local.is_(True),
        Object.type == type_name,
        Object.deleted_at.is_(None),
    )
    return list(await session.scalars(query.order_by(Object.published.desc(), Object.id.desc())))


async def received_by(session: AsyncSession, actor_id: int, type_name: str) -> list[Object]:
    """Live Adoptions/SolutionOffers by others about a local actor's objects, newest first."""
    mine = select(Object.ap_id).where(Object.actor_id == actor_id, Object.local.is_(True))
    query = select(Object).where(
        Object.type == type_name,
        Object.target.in_(mine),
        Object.actor_id != actor_id,
        Object.deleted_at.is_(None),
    )
    return list(await session.scalars(query.order_by(Object.published.desc(), Object.id.desc())))


def _replies_where(ap_id: str) -> tuple[Any, ...]:
    return (
        Object.in_reply_to == ap_id,
        Object.deleted_at.is_(None),
        Object.state == "published",
        actor_not_blocked(Object.actor_id),
    )


async def count_replies(session: AsyncSession, ap_id: str) -> int:
    """Published, live replies to an object (not from blocked domains)."""
    query = select(func.count()).select_from(Object).where(*_replies_where(ap_id))
    return await session.scalar(query) or 0


async def reply_ids(session: AsyncSession, ap_id: str, *, offset: int, limit: int) -> list[str]:
    """The ids of an object's published replies, oldest first."""
    rows = await session.scalars(
        select(Object.ap_id)
        .where(*_replies_where(ap_id))
        .order_by(Object.published, Object.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows)
