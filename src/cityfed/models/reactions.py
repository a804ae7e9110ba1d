"""Queries on reactions: remote actors' Likes and Announces (boosts) of objects we keep."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.models.peers import actor_not_blocked
from cityfed.models.states import FollowState
from cityfed.models.tables import Actor, Follow, Reaction


class ReactionKind(StrEnum):
    LIKE = "like"
    ANNOUNCE = "announce"


async def record(
    session: AsyncSession, kind: ReactionKind, activity_ap_id: str, actor_id: int, object_id: int
) -> bool:
    """Store a reaction; False when it is known already (the same activity again, or a second
    one of the same kind by the same actor on the same object, which changes nothing)."""
    existing = await session.scalar(
        select(Reaction.id).where(
            (Reaction.activity_ap_id == activity_ap_id)
            | (
                (Reaction.object_id == object_id)
                & (Reaction.kind == kind)
                & (Reaction.actor_id == actor_id)
            )
        )
    )
    if existing is not None:
        return False
    session.add(
        Reaction(kind=kind, activity_ap_id=activity_ap_id, actor_id=actor_id, object_id=object_id)
    )
    await session.flush()
    return True


async def by_activity(session: AsyncSession, activity_ap_id: str) -> Reaction | None:
    return await session.scalar(select(Reaction).where(Reaction.activity_ap_id == activity_ap_id))


async def find(
    session: AsyncSession, kind: ReactionKind, actor_id: int, object_id: int
) -> Reaction | None:
    return await session.scalar(
        select(Reaction).where(
            Reaction.kind == kind, Reaction.actor_id == actor_id, Reaction.object_id == object_id
        )
    )


async def counts(
    session: AsyncSession, object_ids: Iterable[int]
) -> dict[int, dict[ReactionKind, int]]:
    """Likes and announces per object (blocked domains' reactions not counted); every asked
    object is in the answer, with zeros when nobody reacted."""
    ids = list(dict.fromkeys(object_ids))
    found: dict[int, dict[ReactionKind, int]] = {
        object_id: {kind: 0 for kind in ReactionKind} for object_id in ids
    }
    if not ids:
        return found
    rows = await session.execute(
        select(Reaction.object_id, Reaction.kind, func.count())
        .where(Reaction.object_id.in_(ids), actor_not_blocked(Reaction.actor_id))
        .group_by(Reaction.object_id, Reaction.kind)
    )
    for object_id, kind, number in rows:
        found[object_id][ReactionKind(kind)] = number
    return found


async def reactors(
    session: AsyncSession, object_id: int, kind: ReactionKind, *, limit: int = 200
) -> list[Actor]:
    """Who liked (or boosted) an object, newest first, for the staff pages."""
    rows = await session.scalars(
        select(Actor)
        .join(Reaction, Reaction.actor_id == Actor.id)
        .where(Reaction.object_id == object_id, Reaction.kind == kind)
        .order_by(Reaction.created_at.desc(), Reaction.id.desc())
        .limit(limit)
    )
    return list(rows)


async def boosters_followed(
    session: AsyncSession, local_actor_id: int, object_ids: Sequence[int]
) -> dict[int, list[Actor]]:
    """For each object, the cities this local actor follows that announced it."""
    if not object_ids:
        return {}
    followed = select(Follow.followee_id).where(
        Follow.follower_id == local_actor_id, Follow.state == FollowState.ACCEPTED
    )
    rows = await session.execute(
        select(Reaction.object_id, Actor)
        .join(Actor, Actor.id == Reaction.actor_id)
        .where(
            Reaction.object_id.in_(object_ids),
            Reaction.kind == ReactionKind.ANNOUNCE,
            Reaction.actor_id.in_(followed),
        )
        .order_by(Reaction.created_at)
    )
    found: dict[int, list[Actor]] = {}
    for object_id, actor in rows:
        found.setdefault(object_id, []).append(actor)
    return found
